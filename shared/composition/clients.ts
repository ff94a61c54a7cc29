import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Redis } from 'ioredis';
import { LeasedRateLimiter } from '#shared/adapters/cache/rate-limiter.leased';
import { MemoryRateLimiter } from '#shared/adapters/cache/rate-limiter.memory';
import { RedisRateLimiter } from '#shared/adapters/cache/rate-limiter.redis';
import { MemoryRouteCache, TieredRouteCache } from '#shared/adapters/cache/route-cache.memory';
import { createRedisClient, RedisRouteCache } from '#shared/adapters/cache/route-cache.redis';
import { UpstashRouteCache } from '#shared/adapters/cache/route-cache.upstash';
import { DynamoDbIdempotencyStore } from '#shared/adapters/idempotency/idempotency.dynamodb';
import { createPgPool, type PgPool } from '#shared/adapters/postgres/pg-pool';
import { PgRouteRepository } from '#shared/adapters/postgres/route-repository.pg';
import { getConfig } from '#shared/config/config';
import type { CacheEntry } from '#shared/domain/cache-entry';
import { DependencyUnavailableError } from '#shared/domain/errors';
import { logger } from '#shared/observability/logger';
import { appMetrics } from '#shared/observability/metrics';
import type { IdempotencyStore } from '#shared/ports/idempotency.port';
import type { LeasableRateLimiter, RateLimiter } from '#shared/ports/rate-limiter.port';
import type { RouteCache } from '#shared/ports/route-cache.port';
import type { RouteRepository } from '#shared/ports/route-repository.port';
import { GuardedRouteCache, GuardedRouteRepository } from '#shared/resilience/guarded-adapters';
import { guardFor, retryBudget } from '#shared/resilience/registry';
import type { AdmitDeps } from '#shared/use-cases/admit-request.use-case';
import type { ReadinessProbe } from '#shared/use-cases/check-readiness.use-case';
import { SingleFlight } from '#shared/use-cases/single-flight';

/**
 * Pooled clients, built lazily once per container (or once per local-runner process) and shared by
 * every handler in it. Handlers call these from their module scope: their composition roots.
 */
let pool: PgPool | undefined;
let redis: Redis | undefined;
let cache: RouteCache | null | undefined;
let repository: RouteRepository | undefined;
let singleFlight: SingleFlight<CacheEntry> | undefined;

export const getPgPool = (): PgPool => {
  pool ??= createPgPool(getConfig().database, (err) => {
    appMetrics.dependencyError('database');
    logger.warn('postgres idle client error', { error: err.message });
  });
  return pool;
};

export const getRouteRepository = (): RouteRepository => {
  repository ??= new GuardedRouteRepository(
    new PgRouteRepository(getPgPool()),
    guardFor('database'),
    retryBudget(),
  );
  return repository;
};

export const getResolveSingleFlight = (): SingleFlight<CacheEntry> => {
  singleFlight ??= new SingleFlight<CacheEntry>();
  return singleFlight;
};

/** A warner that logs at most one line per second, so an outage does not flood the logs. */
const onceASecond = (message: string) => {
  let last = 0;
  return (err: unknown): void => {
    const now = Date.now();
    if (now - last < 1000) return;
    last = now;
    const cause =
      err instanceof DependencyUnavailableError && err.cause instanceof Error ? err.cause.message : err;
    logger.warn(message, { error: String(cause) });
  };
};

const warnCache = onceASecond('cache unavailable; serving from postgres');

/** Counts every cache failure; logs at most one line per second. */
export const reportCacheError = (err: unknown): void => {
  appMetrics.dependencyError('cache');
  warnCache(err);
};

/** The one Redis connection per container (route cache and rate limiter); null without the Redis tier. */
const getRedisClient = (): Redis | null => {
  const c = getConfig().cache;
  if (c.backend !== 'redis') return null;
  if (!redis) {
    redis = createRedisClient(c);
    // ioredis reports connection errors as events; they are expected while Redis is down.
    redis.on('error', (err: Error) => reportCacheError(err));
  }
  return redis;
};

const buildCache = (): RouteCache | null => {
  const c = getConfig().cache;
  let shared: RouteCache | null = null;
  const client = getRedisClient();
  if (client) {
    shared = new RedisRouteCache(client);
  } else if (c.backend === 'upstash') {
    shared = new UpstashRouteCache({
      url: c.upstashUrl!,
      token: c.upstashToken!,
      timeoutMs: c.upstashTimeoutMs,
    });
  }
  if (shared) shared = new GuardedRouteCache(shared, guardFor('cache'));
  if (shared && c.memoryTtlMs > 0) {
    return new TieredRouteCache(new MemoryRouteCache(c.memoryMaxEntries), shared, c.memoryTtlMs);
  }
  return shared;
};

export const getRouteCache = (): RouteCache | null => {
  if (cache === undefined) cache = buildCache();
  return cache;
};

let admitDeps: AdmitDeps | undefined;
const warnLimiter = onceASecond(
  'rate limiter unavailable; resolves fail open, other requests use in-process buckets',
);

/**
 * Rate limiting (see admit-request.use-case.ts): the buckets in Redis behind the cache's breaker (it is
 * the same Redis), leased in batches (rate-limiter.leased.ts); in-process buckets where there is no
 * Redis or while it fails.
 */
export const getAdmitDeps = (): AdmitDeps => {
  if (!admitDeps) {
    const { rateLimits } = getConfig();
    const client = getRedisClient();
    let shared: RateLimiter | null = null;
    if (client) {
      const redisLimiter = new RedisRateLimiter(client);
      const guard = guardFor('cache');
      const guarded: LeasableRateLimiter = {
        take: (buckets) => guard.execute(() => redisLimiter.take(buckets)),
        takeUpTo: (buckets, wanted) => guard.execute(() => redisLimiter.takeUpTo(buckets, wanted)),
      };
      // Local leases: busy processes call Redis once per batch of requests, not once per request.
      shared = new LeasedRateLimiter(guarded);
    }
    admitDeps = {
      policy: rateLimits.enabled ? { tenant: rateLimits.tenant, role: rateLimits.role } : null,
      shared,
      local: new MemoryRateLimiter(),
      onLimiterError: (err) => {
        appMetrics.rateLimiterError();
        warnLimiter(err);
      },
    };
  }
  return admitDeps;
};

let dynamo: DynamoDBClient | undefined;
let idempotency: IdempotencyStore | undefined;

/** DynamoDB client: DYNAMODB_ENDPOINT points it at DynamoDB Local (which accepts any credentials). */
export const getDynamoClient = (): DynamoDBClient => {
  const { idempotency: c, awsRegion } = getConfig();
  dynamo ??= new DynamoDBClient({
    region: awsRegion,
    maxAttempts: 2,
    ...(c.dynamoEndpoint
      ? { endpoint: c.dynamoEndpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
  return dynamo;
};

export const getIdempotencyStore = (): IdempotencyStore => {
  idempotency ??= new DynamoDbIdempotencyStore(getDynamoClient(), getConfig().idempotency.table);
  return idempotency;
};

const extraProbes: ReadinessProbe[] = [];

/**
 * Probes a host adds to readiness. The local runner adds Kafka and the audit store (events.probes.ts);
 * the health Lambda does not, so it does not bundle their drivers (MSK and DocumentDB have alarms).
 */
export const addReadinessProbes = (...probes: ReadinessProbe[]): void => {
  for (const probe of probes) if (!extraProbes.some((p) => p.name === probe.name)) extraProbes.push(probe);
};

export const readinessProbes = (): ReadinessProbe[] => {
  const p = getPgPool();
  const routeCache = getRouteCache();
  return [
    {
      name: 'database',
      critical: true,
      check: async () => {
        await getRouteRepository().ping();
        return {
          pool: {
            total: p.totalCount,
            idle: p.idleCount,
            waiting: p.waitingCount,
            max: getConfig().database.poolMax,
          },
        };
      },
    },
    {
      name: 'cache',
      critical: false,
      check: async () => {
        if (!routeCache) return { backend: 'none', note: 'running without a cache tier' };
        await routeCache.ping();
        return { backend: routeCache.name };
      },
    },
    ...extraProbes,
  ];
};

/** Closes pools and connections (local runner shutdown, tests). */
export const closeClients = async (): Promise<void> => {
  const closing: Promise<unknown>[] = [];
  if (pool) closing.push(pool.end());
  if (redis) closing.push(redis.quit().catch(() => redis?.disconnect()));
  dynamo?.destroy();
  dynamo = undefined;
  idempotency = undefined;
  pool = undefined;
  redis = undefined;
  cache = undefined;
  admitDeps = undefined;
  repository = undefined;
  await Promise.allSettled(closing);
};
