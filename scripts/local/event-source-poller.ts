import { setTimeout as sleep } from 'node:timers/promises';
import type { Context, MSKEvent, MSKRecord } from 'aws-lambda';
import type { Consumer, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { lambdaContext } from './api-gateway-event.ts';

export type MskLambdaHandler = (event: MSKEvent, context: Context) => Promise<void>;

export interface PolledFunction {
  /** Function name, for logs and the Lambda context. */
  readonly name: string;
  readonly consumerGroup: string;
  readonly handler: MskLambdaHandler;
}

export interface EventSourcePollerOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly bootstrapServers: string;
  readonly functions: readonly PolledFunction[];
  /** Records per invocation at most (the mapping's BatchSize). */
  readonly batchSize?: number;
  /** Backoff after a failed invocation: doubles from `initial` up to `max`. */
  readonly retryBackoffMs?: { readonly initial: number; readonly max: number };
  /** Told about each failed invocation (it is retried). */
  readonly onRetry?: (fn: string, partition: number, attempt: number, err: unknown) => void;
  /** The cluster's ARN as records carry it (`eventSourceArn`); a made-up local one by default. */
  readonly eventSourceArn?: string;
  /** TRIM_HORIZON (default) or LATEST for a group without committed offsets. */
  readonly startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  /**
   * The mapping's MaximumRetryAttempts: a batch still failing after this many retries is bisected (when
   * `bisect`) down to single records, and what still fails goes to `onFailure` and is skipped. Unset:
   * retried until it succeeds (the sources runner's behaviour).
   */
  readonly retryAttempts?: number;
  readonly bisect?: boolean;
  readonly onFailure?: (fn: string, failed: FailedBatch, err: unknown) => Promise<void>;
}

/** What the MSK event source sends its on-failure destination: where the skipped records are, not them. */
export interface FailedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly firstOffset: string;
  readonly lastOffset: string;
  readonly firstTimestamp: string;
  readonly lastTimestamp: string;
  readonly batchSize: number;
  readonly payloadSize: number;
}

export interface EventSourcePoller {
  /** Resolves once every consumer group has joined and holds its partitions. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

const headersOf = (headers: IHeaders | undefined): MSKRecord['headers'] =>
  Object.entries(headers ?? {}).flatMap(([name, value]) => {
    const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
    return values.map((v) => ({ [name]: [...(Buffer.isBuffer(v) ? v : Buffer.from(String(v)))] }));
  });

/** kafkajs messages → the payload the Lambda MSK event source delivers (base64 key/value, byte headers). */
export const toMskEvent = (
  topic: string,
  partition: number,
  messages: readonly KafkaMessage[],
  bootstrapServers: string,
  eventSourceArn = `arn:aws:kafka:local:000000000000:cluster/local/${topic}`,
): MSKEvent => ({
  eventSource: 'aws:kafka',
  eventSourceArn,
  bootstrapServers,
  records: {
    [`${topic}-${partition}`]: messages.map((m) => ({
      topic,
      partition,
      offset: Number(m.offset),
      timestamp: Number(m.timestamp),
      timestampType: 'CREATE_TIME',
      key: m.key ? m.key.toString('base64') : '',
      value: m.value ? m.value.toString('base64') : '',
      headers: headersOf(m.headers),
    })),
  },
});

/**
 * Plays the Lambda MSK event source mapping locally: one kafkajs consumer group per function, records
 * delivered to the real handler in batches of the MSK event shape, one partition per invocation (several
 * partitions in parallel). Offsets are committed only after the handler returns; when it throws, the
 * partition is paused, sought back to the batch's first offset and retried after a growing backoff,
 * so a failing batch blocks its partition (order is kept) and nothing is skipped.
 */
export const startEventSourcePoller = async (
  options: EventSourcePollerOptions,
): Promise<EventSourcePoller> => {
  const batchSize = options.batchSize ?? 100;
  const backoff = options.retryBackoffMs ?? { initial: 200, max: 5000 };
  const consumers: Consumer[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const joined: Promise<void>[] = [];

  for (const fn of options.functions) {
    const consumer = options.kafka.consumer({
      groupId: fn.consumerGroup,
      maxWaitTimeInMs: 250,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      allowAutoTopicCreation: false,
    });
    consumers.push(consumer);
    joined.push(
      new Promise<void>((resolve) => {
        consumer.on(consumer.events.GROUP_JOIN, () => resolve());
      }),
    );
    const attempts = new Map<number, number>();
    await consumer.connect();
    await consumer.subscribe({
      topic: options.topic,
      fromBeginning: (options.startingPosition ?? 'TRIM_HORIZON') === 'TRIM_HORIZON',
    });
    const limited = options.retryAttempts;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 8,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, pause }) => {
        for (let i = 0; i < batch.messages.length; i += batchSize) {
          if (!isRunning() || isStale()) return;
          const chunk = batch.messages.slice(i, i + batchSize);
          const event = toMskEvent(
            batch.topic,
            batch.partition,
            chunk,
            options.bootstrapServers,
            options.eventSourceArn,
          );
          if (limited !== undefined) {
            const delivered = await deliverWithRetries(chunk, limited, {
              invoke: (records) =>
                fn.handler(
                  toMskEvent(
                    batch.topic,
                    batch.partition,
                    records,
                    options.bootstrapServers,
                    options.eventSourceArn,
                  ),
                  lambdaContext(fn.name),
                ),
              wait: async (ms) => {
                await sleep(ms);
                await heartbeat();
              },
              running: () => isRunning() && !isStale(),
              backoff,
              onRetry: (attempt, err) => options.onRetry?.(fn.name, batch.partition, attempt, err),
              onFailure: (records, err) =>
                options.onFailure?.(
                  fn.name,
                  {
                    topic: batch.topic,
                    partition: batch.partition,
                    firstOffset: records[0]!.offset,
                    lastOffset: records.at(-1)!.offset,
                    firstTimestamp: records[0]!.timestamp,
                    lastTimestamp: records.at(-1)!.timestamp,
                    batchSize: records.length,
                    payloadSize: records.reduce(
                      (n, r) => n + (r.value?.length ?? 0) + (r.key?.length ?? 0),
                      0,
                    ),
                  },
                  err,
                ) ?? Promise.resolve(),
              bisect: options.bisect ?? false,
            });
            if (!delivered) return;
            const last = chunk.at(-1)!.offset;
            resolveOffset(last);
            await consumer.commitOffsets([
              { topic: batch.topic, partition: batch.partition, offset: String(BigInt(last) + 1n) },
            ]);
            await heartbeat();
            continue;
          }
          try {
            await fn.handler(event, lambdaContext(fn.name));
          } catch (err) {
            const attempt = (attempts.get(batch.partition) ?? 0) + 1;
            attempts.set(batch.partition, attempt);
            options.onRetry?.(fn.name, batch.partition, attempt, err);
            const resume = pause();
            consumer.seek({ topic: batch.topic, partition: batch.partition, offset: chunk[0]!.offset });
            const timer = setTimeout(
              () => {
                timers.delete(timer);
                resume();
              },
              Math.min(backoff.initial * 2 ** (attempt - 1), backoff.max),
            );
            timers.add(timer);
            return;
          }
          attempts.delete(batch.partition);
          const last = chunk.at(-1)!.offset;
          resolveOffset(last);
          await consumer.commitOffsets([
            { topic: batch.topic, partition: batch.partition, offset: String(BigInt(last) + 1n) },
          ]);
          await heartbeat();
        }
      },
    });
  }

  return {
    ready: Promise.all(joined).then(() => undefined),
    async stop() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.allSettled(consumers.map((c) => c.disconnect()));
    },
  };
};

export interface DeliveryPorts {
  invoke(records: readonly KafkaMessage[]): Promise<void>;
  wait(ms: number): Promise<void>;
  running(): boolean;
  readonly backoff: { readonly initial: number; readonly max: number };
  onRetry(attempt: number, err: unknown): void;
  onFailure(records: readonly KafkaMessage[], err: unknown): Promise<void>;
  readonly bisect: boolean;
}

/**
 * The MSK event source's bounded retries: the batch is retried `retries` times with backoff, then split
 * in halves (bisect) and each half delivered the same way; a part that still fails is reported to the
 * on-failure destination and skipped. False when the poller stopped before the batch was settled.
 */
export const deliverWithRetries = async (
  records: readonly KafkaMessage[],
  retries: number,
  ports: DeliveryPorts,
): Promise<boolean> => {
  for (let attempt = 0; ; attempt++) {
    if (!ports.running()) return false;
    try {
      await ports.invoke(records);
      return true;
    } catch (err) {
      ports.onRetry(attempt + 1, err);
      if (attempt >= retries) {
        if (ports.bisect && records.length > 1) {
          const mid = Math.ceil(records.length / 2);
          return (
            (await deliverWithRetries(records.slice(0, mid), retries, ports)) &&
            deliverWithRetries(records.slice(mid), retries, ports)
          );
        }
        await ports.onFailure(records, err);
        return true;
      }
      await ports.wait(Math.min(ports.backoff.initial * 2 ** attempt, ports.backoff.max));
    }
  }
};
