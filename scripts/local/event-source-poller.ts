import { setTimeout as sleep } from 'node:timers/promises';
import type { Context, MSKEvent, MSKRecord } from 'aws-lambda';
import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { isTopicMissing } from '#shared/adapters/kafka/kafka-errors';
import { logThrottle } from '#shared/adapters/kafka/log-throttle';
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
  /**
   * The mapping's batching window: the broker holds each fetch until it has a batch's worth of bytes or
   * this long passed (Kafka's fetch.min.bytes / fetch.max.wait). 0 (default): each fetch returns what is there.
   */
  readonly batchingWindowMs?: number;
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
  /**
   * Makes the topic exist again (idempotently, with the configured partitions and replication): called
   * when a consumer finds it missing — a broker restarted on empty storage, a deleted topic.
   */
  readonly repairTopic?: () => Promise<void>;
  /** Consumer trouble (crash, restart, repair), at most one line a second per cause with a repeat count. */
  readonly log?: (line: string) => void;
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

/** A route event's size on the wire, about: what a full batch weighs for the broker's fetch.min.bytes. */
const RECORD_BYTES_ESTIMATE = 600;

/**
 * Plays the Lambda MSK event source mapping locally: one kafkajs consumer group per function, records
 * delivered to the real handler in batches of the MSK event shape, one partition per invocation (several
 * partitions in parallel). Offsets are committed only after the handler returns; when it throws, the
 * partition is paused, sought back to the batch's first offset and retried after a growing backoff,
 * so a failing batch blocks its partition (order is kept) and nothing is skipped.
 *
 * It heals like the managed event source: kafkajs reconnects and rejoins after a broker restart and the
 * group resumes from its committed offsets; a consumer that crashes for good is started again (backoff
 * up to 5 s); a missing topic is re-created through `repairTopic`. A group whose committed offset is gone
 * or beyond the log (the topic was re-created) starts from the earliest retained record (TRIM_HORIZON) or
 * the end (LATEST), as `startingPosition` says: a redelivery, which every consumer absorbs (idempotent).
 */
export const startEventSourcePoller = async (
  options: EventSourcePollerOptions,
): Promise<EventSourcePoller> => {
  const batchSize = options.batchSize ?? 100;
  const windowMs = options.batchingWindowMs ?? 0;
  const backoff = options.retryBackoffMs ?? { initial: 200, max: 5000 };
  const consumers = new Map<string, Consumer>();
  const timers = new Set<NodeJS.Timeout>();
  const joined: Promise<void>[] = [];
  const throttle = logThrottle();
  let stopped = false;
  const report = (cause: string, line: string) => {
    const { log, repeated } = throttle(cause);
    if (log) options.log?.(repeated > 0 ? `${line} (${repeated} more like it since the last line)` : line);
  };
  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };
  const repair = async (fn: PolledFunction, err: unknown): Promise<void> => {
    if (!options.repairTopic || !isTopicMissing(err)) return;
    try {
      await options.repairTopic();
      report(`${fn.name}:repaired`, `${fn.name}: topic ${options.topic} was missing; ensured it`);
    } catch (repairErr) {
      report(
        `${fn.name}:repair-failed`,
        `${fn.name}: could not re-create ${options.topic}: ${String(repairErr)}`,
      );
    }
  };

  const start = async (fn: PolledFunction, attempt: number, onJoin: () => void): Promise<void> => {
    const consumer = options.kafka.consumer({
      groupId: fn.consumerGroup,
      ...(windowMs > 0
        ? { maxWaitTimeInMs: windowMs, minBytes: batchSize * RECORD_BYTES_ESTIMATE }
        : { maxWaitTimeInMs: 250 }),
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      allowAutoTopicCreation: false,
    });
    consumers.set(fn.name, consumer);
    consumer.on(consumer.events.GROUP_JOIN, () => onJoin());
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      void (async () => {
        report(
          `${fn.name}:crash:${String(payload.error)}`,
          `${fn.name}: consumer failed (${String(payload.error)}); ${payload.restart ? 'it restarts' : 'starting it again'}`,
        );
        await repair(fn, payload.error);
        if (payload.restart || stopped) return;
        await consumer.disconnect().catch(() => undefined);
        later(
          Math.min(backoff.initial * 2 ** attempt, backoff.max),
          () => void restart(fn, attempt + 1, onJoin),
        );
      })();
    });
    await consumer.connect();
    await consumer.subscribe({
      topic: options.topic,
      fromBeginning: (options.startingPosition ?? 'TRIM_HORIZON') === 'TRIM_HORIZON',
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 8,
      eachBatch: (payload) => deliverBatch(fn, consumer, payload),
    });
  };
  /** Starts the function's consumer again until it runs (the broker or the topic may still be away). */
  const restart = async (fn: PolledFunction, attempt: number, onJoin: () => void): Promise<void> => {
    if (stopped) return;
    try {
      await start(fn, attempt, onJoin);
    } catch (err) {
      report(`${fn.name}:start:${String(err)}`, `${fn.name}: cannot start its consumer yet: ${String(err)}`);
      await consumers
        .get(fn.name)
        ?.disconnect()
        .catch(() => undefined);
      await repair(fn, err);
      later(
        Math.min(backoff.initial * 2 ** attempt, backoff.max),
        () => void restart(fn, attempt + 1, onJoin),
      );
    }
  };

  const attemptsOf = new Map<string, Map<number, number>>();
  const deliverBatch = async (
    fn: PolledFunction,
    consumer: Consumer,
    { batch, resolveOffset, heartbeat, isRunning, isStale, pause }: EachBatchPayload,
  ): Promise<void> => {
    const attempts = attemptsOf.get(fn.name) ?? new Map<number, number>();
    attemptsOf.set(fn.name, attempts);
    const limited = options.retryAttempts;
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
                payloadSize: records.reduce((n, r) => n + (r.value?.length ?? 0) + (r.key?.length ?? 0), 0),
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
        later(Math.min(backoff.initial * 2 ** (attempt - 1), backoff.max), resume);
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
  };

  for (const fn of options.functions) {
    const { promise, resolve: onJoin } = withResolvers();
    joined.push(promise);
    // The first start must work (a wrong broker address is a configuration error, said at once) unless
    // only the topic is missing, which the repair fixes.
    try {
      await start(fn, 0, onJoin);
    } catch (err) {
      if (!options.repairTopic || !isTopicMissing(err)) throw err;
      await consumers
        .get(fn.name)
        ?.disconnect()
        .catch(() => undefined);
      await repair(fn, err);
      await restart(fn, 1, onJoin);
    }
  }

  return {
    ready: Promise.all(joined).then(() => undefined),
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.allSettled([...consumers.values()].map((c) => c.disconnect()));
    },
  };
};

const withResolvers = (): { promise: Promise<void>; resolve: () => void } => {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
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
