import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaEventPublisher } from '#shared/adapters/kafka/event-publisher.kafka';
import { logThrottle } from '#shared/adapters/kafka/log-throttle';
import { PgOutboxStore } from '#shared/adapters/postgres/outbox-store.pg';
import { getConfig } from '#shared/config/config';
import { DependencyUnavailableError } from '#shared/domain/errors';
import { logger } from '#shared/observability/logger';
import { appMetrics } from '#shared/observability/metrics';
import type { EventPublisher } from '#shared/ports/event-publisher.port';
import type { OutboxStore } from '#shared/ports/outbox.port';
import type { PublishOutboxDeps } from '#shared/use-cases/publish-outbox.use-case';
import type { RelayOutboxDeps } from '#shared/use-cases/relay-outbox.use-case';
import { getPgPool } from './clients.ts';
import { getKafka, resetKafka } from './kafka-clients.ts';

export { getKafka };

/**
 * The publishing side of the events (Kafka, the outbox), built lazily once per container: what the write
 * functions and the relay need, without the consumers' audit store or failure destination.
 */
let publisher: KafkaEventPublisher | undefined;
let outbox: OutboxStore | undefined;

export const getEventPublisher = (): EventPublisher => {
  publisher ??= new KafkaEventPublisher(getKafka, getConfig().kafka.topic);
  return publisher;
};

export const getOutboxStore = (): OutboxStore => {
  outbox ??= new PgOutboxStore(getPgPool());
  return outbox;
};

const publishWarnings = logThrottle();
const relayWarnings = logThrottle();

/** The kafkajs error under our DependencyUnavailableError: the cause worth naming in a log line. */
const rootCause = (err: unknown): unknown =>
  err instanceof DependencyUnavailableError && err.cause instanceof Error ? err.cause : err;

/** What every publisher shares: the outbox, the producer, the timeout and their metrics and warnings. */
export const publishDeps = (): PublishOutboxDeps => ({
  outbox: getOutboxStore(),
  publisher: getEventPublisher(),
  publishTimeoutMs: getConfig().kafka.publishTimeoutMs,
  onPublished: (events) => appMetrics.eventsPublished(events.length),
  onPublishFailed: (count, err) => {
    appMetrics.eventsPublishFailed(count);
    appMetrics.dependencyError('kafka');
    const error = String(rootCause(err));
    const { log, repeated } = publishWarnings(error);
    if (log)
      logger.warn('publishing outbox events failed; they stay in the outbox', { count, error, repeated });
  },
});

export const getRelayDeps = (): RelayOutboxDeps => {
  const { relay } = getConfig();
  return {
    ...publishDeps(),
    batchSize: relay.batchSize,
    pollIntervalMs: relay.pollIntervalMs,
    now: Date.now,
    sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => {}),
    backlogEveryMs: relay.backlogEveryMs,
    // A run lasts longer than a minute: its metrics go out with each report, not only when it ends.
    onBacklog: (b) => {
      appMetrics.outboxBacklog(b.count, b.oldestAgeSeconds);
      appMetrics.flush();
    },
    // The relay is the only publisher where EVENT_PUBLISHER=relay: a failing round is worth a warning.
    onError: (err) => {
      const error = String(rootCause(err));
      const { log, repeated } = relayWarnings(error);
      if (log) logger.warn('relay round failed; retrying at the next poll', { error, repeated });
    },
  };
};

/** Closes the producer (local runner shutdown, tests). */
export const closePublishClients = async (): Promise<void> => {
  const p = publisher;
  resetKafka();
  publisher = undefined;
  outbox = undefined;
  await p?.close();
};
