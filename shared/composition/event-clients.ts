import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { bulkhead, ConsecutiveBreaker, circuitBreaker, handleAll, wrap } from 'cockatiel';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { MongoClient } from 'mongodb';
import { createRedisClient, RedisRouteCache } from '#shared/adapters/cache/route-cache.redis';
import { UpstashRouteCache } from '#shared/adapters/cache/route-cache.upstash';
import { PgFailureDestination } from '#shared/adapters/failure/failure-destination.pg';
import { SqsFailureDestination } from '#shared/adapters/failure/failure-destination.sqs';
import { KafkaEventPublisher } from '#shared/adapters/kafka/event-publisher.kafka';
import { createKafka, resolveBrokers } from '#shared/adapters/kafka/kafka-client.kafka';
import { MongoAuditStore } from '#shared/adapters/mongo/audit-store.mongo';
import { createMongoClient } from '#shared/adapters/mongo/mongo-client.mongo';
import { PgOutboxStore } from '#shared/adapters/postgres/outbox-store.pg';
import { getConfig } from '#shared/config/config';
import { DependencyUnavailableError } from '#shared/domain/errors';
import type { RouteWriteResult } from '#shared/domain/route';
import { logger } from '#shared/observability/logger';
import { appMetrics } from '#shared/observability/metrics';
import type { AuditStore } from '#shared/ports/audit-store.port';
import type { EventPublisher } from '#shared/ports/event-publisher.port';
import type { FailureDestination } from '#shared/ports/failure-destination.port';
import type { OutboxStore } from '#shared/ports/outbox.port';
import type { RouteCache } from '#shared/ports/route-cache.port';
import type { InvalidateCacheDeps } from '#shared/use-cases/invalidate-cache.use-case';
import {
  type PublishAfterCommitDeps,
  type PublishOutboxDeps,
  publishAfterCommit,
} from '#shared/use-cases/publish-outbox.use-case';
import type { RecordAuditDeps } from '#shared/use-cases/record-audit.use-case';
import type { RelayOutboxDeps } from '#shared/use-cases/relay-outbox.use-case';
import type { WarmCacheDeps } from '#shared/use-cases/warm-cache.use-case';
import { getPgPool, getRouteRepository } from './clients.ts';

/**
 * Event-side clients (Kafka, DocumentDB, the consumers' cache, the failure destination), built lazily
 * once per container and shared, like `clients.ts` for the request path.
 */
let kafka: Promise<Kafka> | undefined;
let publisher: KafkaEventPublisher | undefined;
let outbox: OutboxStore | undefined;
let mongo: Promise<MongoClient> | undefined;
let auditStore: AuditStore | undefined;
let failureDestination: FailureDestination | undefined;
let consumerRedis: Redis | undefined;
let consumerCache: RouteCache | null | undefined;

/** Bootstrap brokers are resolved once per container (GetBootstrapBrokers on MSK); retried after a failure. */
export const getKafka = (): Promise<Kafka> => {
  kafka ??= (async () => {
    const k = getConfig().kafka;
    return createKafka(k, await resolveBrokers(k));
  })().catch((err) => {
    kafka = undefined;
    throw new DependencyUnavailableError('kafka', 'kafka bootstrap brokers unavailable', { cause: err });
  });
  return kafka;
};

export const getEventPublisher = (): EventPublisher => {
  publisher ??= new KafkaEventPublisher(getKafka, getConfig().kafka.topic);
  return publisher;
};

export const getOutboxStore = (): OutboxStore => {
  outbox ??= new PgOutboxStore(getPgPool());
  return outbox;
};

let lastPublishWarning = 0;

const publishDeps = (): PublishOutboxDeps => ({
  outbox: getOutboxStore(),
  publisher: getEventPublisher(),
  publishTimeoutMs: getConfig().kafka.publishTimeoutMs,
  onPublished: (events) => appMetrics.eventsPublished(events.length),
  onPublishFailed: (count, err) => {
    appMetrics.eventsPublishFailed(count);
    appMetrics.dependencyError('kafka');
    const now = Date.now();
    if (now - lastPublishWarning < 1000) return;
    lastPublishWarning = now;
    const cause = err instanceof DependencyUnavailableError && err.cause instanceof Error ? err.cause : err;
    logger.warn('publishing outbox events failed; they stay in the outbox', { count, error: String(cause) });
  },
});

/**
 * The write path's after-commit hook. It is awaited before the response, bounded by PUBLISH_TIMEOUT_MS:
 * in Lambda a frozen container cannot finish a background publish, and one code path for Lambda and the
 * local runner keeps the behaviour the same. While Kafka fails, a circuit breaker skips the attempt
 * altogether (writes pay nothing), and a bulkhead caps concurrent publishes, each of which holds a pooled
 * connection, so they can never starve the writes themselves. Whatever is skipped is in the outbox
 * already; the relay publishes it.
 */
export const getAfterCommitPublisher = (): ((result: RouteWriteResult) => Promise<void>) => {
  const { database } = getConfig();
  const breaker = circuitBreaker(handleAll, { halfOpenAfter: 2000, breaker: new ConsecutiveBreaker(3) });
  const policy = wrap(bulkhead(Math.max(1, Math.floor(database.poolMax / 2)), 0), breaker);
  const deps: PublishAfterCommitDeps = {
    ...publishDeps(),
    guard: (fn) => policy.execute(() => fn()),
    onSkipped: (reason) => logger.debug('after-commit publish skipped; the relay will publish', { reason }),
  };
  return (result) => publishAfterCommit(deps, result);
};

export const getRelayDeps = (): RelayOutboxDeps => {
  const { relay } = getConfig();
  return {
    ...publishDeps(),
    batchSize: relay.batchSize,
    pollIntervalMs: relay.pollIntervalMs,
    now: Date.now,
    sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => {}),
    onBacklog: (b) => appMetrics.outboxBacklog(b.count, b.oldestAgeSeconds),
    onError: (err) => logger.debug('relay round failed; retrying at the next poll', { error: String(err) }),
  };
};

const getMongo = (): Promise<MongoClient> => {
  mongo ??= createMongoClient(getConfig().mongo).catch((err) => {
    mongo = undefined;
    throw new DependencyUnavailableError('audit_store', 'audit store credentials unavailable', {
      cause: err,
    });
  });
  return mongo;
};

/** The store is created on first use: credentials may come from Secrets Manager. */
class LazyAuditStore implements AuditStore {
  private store: Promise<MongoAuditStore> | undefined;

  private get(): Promise<MongoAuditStore> {
    this.store ??= getMongo()
      .then((client) => new MongoAuditStore(client.db(getConfig().mongo.database)))
      .catch((err) => {
        this.store = undefined;
        throw err;
      });
    return this.store;
  }

  async append(...args: Parameters<AuditStore['append']>) {
    return (await this.get()).append(...args);
  }

  async find(...args: Parameters<AuditStore['find']>) {
    return (await this.get()).find(...args);
  }

  async ping() {
    return (await this.get()).ping();
  }
}

export const getAuditStore = (): AuditStore => {
  auditStore ??= new LazyAuditStore();
  return auditStore;
};

export const getFailureDestination = (): FailureDestination => {
  if (!failureDestination) {
    const { failure, kafka: k } = getConfig();
    failureDestination =
      failure.destination === 'sqs'
        ? new SqsFailureDestination(failure.queueUrl!, k.region)
        : new PgFailureDestination(getPgPool());
  }
  return failureDestination;
};

/** Consumers run in the background: a longer command timeout than the request path's tens of ms. */
const CONSUMER_REDIS_TIMEOUT_MS = 1000;

/** Waits (bounded) for the client to connect, so a cold start does not fail its first batch. */
class ReadyRedisCache implements RouteCache {
  readonly name: string;

  constructor(
    private readonly redis: Redis,
    private readonly cache: RouteCache,
  ) {
    this.name = cache.name;
  }

  private async ready(): Promise<void> {
    if (this.redis.status === 'ready') return;
    await Promise.race([once(this.redis, 'ready'), sleep(CONSUMER_REDIS_TIMEOUT_MS * 2)]).catch(() => {});
  }

  async get(key: string) {
    await this.ready();
    return this.cache.get(key);
  }

  async putIfNewer(...args: Parameters<RouteCache['putIfNewer']>) {
    await this.ready();
    return this.cache.putIfNewer(...args);
  }

  async ping() {
    await this.ready();
    return this.cache.ping();
  }
}

/**
 * The consumers' cache: the shared tier only (Redis / Upstash), never the in-container memory tier, whose
 * entries would be invisible to every other container anyway.
 */
export const getConsumerCache = (): RouteCache | null => {
  if (consumerCache !== undefined) return consumerCache;
  const c = getConfig().cache;
  if (c.backend === 'redis') {
    consumerRedis = createRedisClient({
      ...c,
      commandTimeoutMs: Math.max(c.commandTimeoutMs, CONSUMER_REDIS_TIMEOUT_MS),
    });
    consumerRedis.on('error', () => appMetrics.dependencyError('cache'));
    consumerCache = new ReadyRedisCache(consumerRedis, new RedisRouteCache(consumerRedis));
  } else if (c.backend === 'upstash') {
    consumerCache = new UpstashRouteCache({
      url: c.upstashUrl!,
      token: c.upstashToken!,
      timeoutMs: Math.max(c.upstashTimeoutMs, CONSUMER_REDIS_TIMEOUT_MS),
    });
  } else {
    consumerCache = null;
  }
  return consumerCache;
};

/** A tombstone must outlive any entry it outranks (the longest TTL with jitter). */
const tombstoneTtlMs = (): number => {
  const { cache } = getConfig();
  return Math.ceil(Math.max(cache.positiveTtlMs, cache.negativeTtlMs) * (1 + cache.jitterRatio));
};

export const getInvalidateCacheDeps = (): InvalidateCacheDeps => ({
  cache: getConsumerCache(),
  tombstoneTtlMs: tombstoneTtlMs(),
});

export const getWarmCacheDeps = (): WarmCacheDeps => {
  const { cache } = getConfig();
  return {
    repository: getRouteRepository(),
    cache: getConsumerCache(),
    policy: {
      positiveTtlMs: cache.positiveTtlMs,
      negativeTtlMs: cache.negativeTtlMs,
      jitterRatio: cache.jitterRatio,
    },
  };
};

export const getRecordAuditDeps = (): RecordAuditDeps => ({
  store: getAuditStore(),
  now: () => new Date(),
});

/** Closes what this module opened (local runner shutdown, tests). */
export const closeEventClients = async (): Promise<void> => {
  const closing: Promise<unknown>[] = [];
  if (publisher) closing.push(publisher.close());
  if (mongo) closing.push(mongo.then((c) => c.close()));
  if (consumerRedis) {
    const r = consumerRedis;
    closing.push(r.quit().catch(() => r.disconnect()));
  }
  kafka = undefined;
  publisher = undefined;
  outbox = undefined;
  mongo = undefined;
  auditStore = undefined;
  failureDestination = undefined;
  consumerRedis = undefined;
  consumerCache = undefined;
  await Promise.allSettled(closing);
};
