import { randomBytes } from 'node:crypto';
import type { FailedBatch } from '../local/event-source-poller.ts';
import type { KafkaMapping, Schedule } from './triggers.ts';

/** How the triggers call a function (the local Lambda service), and what they are told back. */
export type TriggerInvoke = (
  functionId: string,
  event: unknown,
  whenThrottled: 'reject' | 'queue',
) => Promise<{ ok: true } | { ok: false; errorType: string; errorMessage: string }>;

export interface EventSourceOptions {
  readonly brokers: string;
  readonly functionName: (functionId: string) => string;
  readonly invoke: TriggerInvoke;
  /** Sends a message to an SQS queue by its ARN (the on-failure destination). */
  readonly sendToQueue: (queueArn: string, body: string) => Promise<void>;
  readonly say: (line: string) => void;
  /** Makes a topic the broker lost exist again (the pollers call it when they find it missing). */
  readonly repairTopic?: () => Promise<void>;
}

/**
 * The record the MSK event source sends its on-failure destination when a batch exhausts its retries:
 * where the records are, not the records (the Lambda documentation's shape).
 */
export const onFailureRecord = (
  mapping: KafkaMapping,
  functionName: string,
  failed: FailedBatch,
  brokers: string,
): Record<string, unknown> => ({
  requestContext: {
    requestId: randomBytes(16).toString('hex'),
    functionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    condition: 'RetryAttemptsExhausted',
    approximateInvokeCount: (mapping.retryAttempts ?? 0) + 1,
  },
  responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
  version: '1.0',
  timestamp: new Date().toISOString(),
  KafkaBatchInfo: {
    batchSize: failed.batchSize,
    eventSourceArn: mapping.clusterArn,
    bootstrapServers: brokers,
    payloadSize: failed.payloadSize,
    recordsInfo: {
      [`${failed.topic}-${failed.partition}`]: {
        firstRecordOffset: failed.firstOffset,
        lastRecordOffset: failed.lastOffset,
        firstRecordTimestamp: failed.firstTimestamp,
        lastRecordTimestamp: failed.lastTimestamp,
      },
    },
  },
});

/** One poller per mapping, with the mapping's settings; resolves with a stop function once all run. */
export const startKafkaMappings = async (
  mappings: readonly KafkaMapping[],
  o: EventSourceOptions,
): Promise<() => Promise<void>> => {
  const { Kafka, logLevel } = await import('kafkajs');
  const { startEventSourcePoller } = await import('../local/event-source-poller.ts');
  const kafka = new Kafka({
    clientId: 'local-cloud-esm',
    brokers: o.brokers.split(','),
    logLevel: logLevel.NOTHING,
  });
  const stops: (() => Promise<void>)[] = [];
  for (const m of mappings) {
    const name = o.functionName(m.functionId);
    const poller = await startEventSourcePoller({
      kafka,
      topic: m.topic,
      bootstrapServers: o.brokers,
      eventSourceArn: m.clusterArn,
      batchSize: m.batchSize,
      batchingWindowMs: m.batchingWindowMs,
      startingPosition: m.startingPosition,
      retryAttempts: m.retryAttempts,
      bisect: m.bisect,
      ...(o.repairTopic ? { repairTopic: o.repairTopic } : {}),
      log: o.say,
      functions: [
        {
          name,
          consumerGroup: m.consumerGroup,
          handler: async (event) => {
            const r = await o.invoke(m.functionId, event, 'queue');
            if (!r.ok) throw new Error(`${r.errorType}: ${r.errorMessage}`);
          },
        },
      ],
      onFailure: async (fn, failed) => {
        o.say(
          `${fn}: records ${failed.topic}-${failed.partition} ${failed.firstOffset}..${failed.lastOffset} ` +
            'failed every retry: their location goes to the on-failure destination',
        );
        if (m.onFailure)
          await o.sendToQueue(m.onFailure, JSON.stringify(onFailureRecord(m, fn, failed, o.brokers)));
      },
    });
    stops.push(() => poller.stop());
    o.say(
      `event source ${m.logicalId}: ${m.topic} → ${name} (group ${m.consumerGroup}, batch ${m.batchSize}, window ${m.batchingWindowMs} ms, ` +
        `retries ${m.retryAttempts ?? '∞'}${m.bisect ? ', bisect' : ''})`,
    );
  }
  return async () => {
    await Promise.allSettled(stops.map((stop) => stop()));
  };
};

/**
 * Each rule invokes its function on schedule, locally at most every `maxEveryMs`. EventBridge invokes
 * asynchronously and Lambda holds a throttled event for later; locally a tick while the previous run is
 * still going waits for it to end and then runs (ticks meanwhile merge into that one), so a function that
 * runs longer than its period (the relay, RELAY_RUN) runs back to back, as its overlapping runs do in AWS.
 */
export const startSchedules = (
  rules: readonly Schedule[],
  maxEveryMs: number,
  o: Pick<EventSourceOptions, 'invoke' | 'functionName' | 'say'>,
): (() => void) => {
  let stopped = false;
  const timers = rules.map((s) => {
    const every = Math.min(s.everyMs, maxEveryMs);
    let running = false;
    let pending = false;
    const tick = () => {
      if (running) {
        pending = true;
        return;
      }
      running = true;
      pending = false;
      const event = {
        source: 'aws.events',
        'detail-type': 'Scheduled Event',
        time: new Date().toISOString(),
        detail: {},
      };
      void o.invoke(s.functionId, event, 'queue').finally(() => {
        running = false;
        if (pending && !stopped) tick();
      });
    };
    tick();
    o.say(
      `schedule ${s.logicalId}: ${s.expression} → ${o.functionName(s.functionId)} (locally every ${every / 1000} s)`,
    );
    return setInterval(tick, every);
  });
  return () => {
    stopped = true;
    for (const t of timers) clearInterval(t);
  };
};
