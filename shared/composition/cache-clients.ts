import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { LeasedRateLimiter } from '#shared/adapters/cache/rate-limiter.leased';
import { MemoryRateLimiter } from '#shared/adapters/cache/rate-limiter.memory';
import { RedisRateLimiter } from '#shared/adapters/cache/rate-limiter.redis';
import { createRedisClient } from '#shared/adapters/cache/route-cache.redis';
import { getConfig } from '#shared/config/config';
import { DependencyUnavailableError } from '#shared/domain/errors';
import { logger } from '#shared/observability/logger';
import { appMetrics } from '#shared/observability/metrics';
import type { LeasableRateLimiter, RateLimiter } from '#shared/ports/rate-limiter.port';
import { guardFor } from '#shared/resilience/registry';
import type { AdmitDeps } from '#shared/use-cases/admit-request.use-case';

/**
 * The Redis connection and the rate limiter's store, once per container. The route cache (which may also be
 * Upstash) is in route-cache-clients.ts, so a function that only rate-limits does not bundle its clients.
 */
let redis: Redis | undefined;

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
export const getRedisClient = (): Redis | null => {
  const c = getConfig().cache;
  if (c.backend !== 'redis') return null;
  if (!redis) {
    redis = createRedisClient(c);
    // ioredis reports connection errors as events; they are expected while Redis is down.
    redis.on('error', (err: Error) => reportCacheError(err));
  }
  return redis;
};

/** Longest the init phase waits for the first connection (Lambda allows 10 s of init). */
const INIT_CONNECT_TIMEOUT_MS = 2000;

/**
 * With its auth token in Secrets Manager the client connects only after reading it, so a cold container's
 * first requests would find the cache still connecting: they would bypass it, skip the shared rate limit
 * and count cache errors (the local cloud showed it on every scale-out). The init phase waits for that
 * first connection instead, bounded; a cache that is down fails this at once and requests degrade as usual.
 */
const connectedAtInit = async (): Promise<void> => {
  const client = getConfig().cache.redisAuthSecretArn ? getRedisClient() : null;
  if (!client || client.status === 'ready') return;
  const done = new AbortController();
  await Promise.race([
    once(client, 'ready', { signal: done.signal }),
    sleep(INIT_CONNECT_TIMEOUT_MS, undefined, { signal: done.signal }),
  ])
    .catch(() => {})
    .finally(() => done.abort());
};
await connectedAtInit();

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

/** Closes the Redis connection (local runner shutdown, tests). */
export const closeCacheClients = async (): Promise<void> => {
  const closing = redis?.quit().catch(() => redis?.disconnect());
  redis = undefined;
  admitDeps = undefined;
  await closing;
};
