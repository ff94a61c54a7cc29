import middy from '@middy/core';
import type { Context, MSKEvent, MSKRecord } from 'aws-lambda';
import { DependencyUnavailableError } from '#shared/domain/errors';
import {
  type ConsumedEvent,
  decodeMskRecord,
  type PartitionBatch,
  partitionBatches,
  recordHeaders,
} from '#shared/events/msk-record';
import { EVENT_HEADERS } from '#shared/events/route-event.schema';
import { logger, runWithCorrelationId } from '#shared/observability/logger';
import { appMetrics, type ConsumerName } from '#shared/observability/metrics';
import type { FailedRecord, FailureDestination } from '#shared/ports/failure-destination.port';

/** Applies one partition's valid events, in offset order. Throwing fails (and redelivers) the batch. */
export type ConsumerFn = (events: readonly ConsumedEvent[]) => Promise<void>;

export interface MskHandlerOptions {
  readonly consumer: ConsumerName;
  readonly failureDestination: () => FailureDestination | Promise<FailureDestination>;
  readonly now?: () => number;
}

const toFailedRecord = (consumer: string, record: MSKRecord, reason: string): FailedRecord => ({
  consumer,
  topic: record.topic,
  partition: record.partition,
  offset: Number(record.offset),
  timestamp: Number.isFinite(record.timestamp) ? record.timestamp : null,
  // Keys are route keys (text): stored readable. The value stays as delivered (base64), since it may
  // not even be text.
  key:
    typeof record.key === 'string' && record.key !== ''
      ? Buffer.from(record.key, 'base64').toString('utf8')
      : null,
  value: typeof record.value === 'string' ? record.value : null,
  headers: recordHeaders(record),
  reason,
});

/**
 * The one middy chain for MSK-triggered consumers. Per batch:
 * 1. group records by partition, each in offset order; partitions run in parallel, records of one
 *    partition strictly in order (one `fn` call per partition);
 * 2. decode each record (base64 → JSON → schema). A malformed record is counted, logged with its
 *    topic/partition/offset and sent to the failure destination; the rest of the batch proceeds;
 * 3. any error from `fn` or the failure destination fails the whole invocation, and the event source
 *    delivers the batch again (at-least-once; consumers are idempotent). Logs carry each record's
 *    correlation id from its headers; metrics are flushed once per invocation.
 */
export const mskHandler = (options: MskHandlerOptions, fn: ConsumerFn) => {
  const { consumer } = options;
  const now = options.now ?? Date.now;

  const runPartition = async (batch: PartitionBatch, poison: FailedRecord[]): Promise<void> => {
    const events: ConsumedEvent[] = [];
    for (const record of batch.records) {
      const decoded = decodeMskRecord(record);
      if (decoded.ok) {
        events.push(decoded.value);
        continue;
      }
      const correlationId =
        recordHeaders(record)[EVENT_HEADERS.correlationId] ?? `${record.topic}:${record.partition}`;
      runWithCorrelationId(correlationId, () =>
        logger.error('malformed record sent to the failure destination', {
          consumer,
          topic: record.topic,
          partition: record.partition,
          offset: record.offset,
          reason: decoded.reason,
        }),
      );
      poison.push(toFailedRecord(consumer, record, decoded.reason));
    }
    if (events.length === 0) return;
    await fn(events);
    const at = now();
    for (const e of events) {
      const seconds = Math.max(0, (at - Date.parse(e.event.occurredAt)) / 1000);
      appMetrics.eventPropagation(consumer, seconds);
      if (e.event.eventType === 'split_changed') appMetrics.splitPropagation(consumer, seconds);
      runWithCorrelationId(e.correlationId ?? e.event.eventId, () =>
        logger.debug('event applied', {
          consumer,
          event_id: e.event.eventId,
          revision: e.event.revision,
          partition: e.partition,
          offset: e.offset,
        }),
      );
    }
  };

  const chain = middy<MSKEvent, void, Error, Context>()
    .use({
      onError: (request) => {
        appMetrics.consumerRetry(consumer);
        const err = request.error;
        if (err instanceof DependencyUnavailableError) {
          logger.warn('batch failed: dependency unavailable; it will be delivered again', {
            consumer,
            dependency: err.dependency,
            error: err.cause instanceof Error ? err.cause.message : err.message,
          });
        } else {
          logger.error('batch failed; it will be delivered again', err as Error);
        }
        // No response set: middy rethrows, and the event source redelivers the batch.
      },
    })
    .handler(async (event) => {
      const poison: FailedRecord[] = [];
      const results = await Promise.allSettled(partitionBatches(event).map((b) => runPartition(b, poison)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      if (poison.length > 0) {
        await (await options.failureDestination()).send(poison);
        appMetrics.consumerFailedRecords(consumer, poison.length);
      }
      appMetrics.consumerBatch(consumer);
    });

  return async (event: MSKEvent, context: Context): Promise<void> => {
    try {
      await runWithCorrelationId(context.awsRequestId, () => chain(event, context));
    } finally {
      appMetrics.flush();
    }
  };
};
