import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { createRedisClient, RedisRouteCache } from '#shared/adapters/cache/route-cache.redis';
import { UpstashRouteCache } from '#shared/adapters/cache/route-cache.upstash';
import { getConfig } from '#shared/config/config';
import { appMetrics } from '#shared/observability/metrics';
import type { RouteCache } from '#shared/ports/route-cache.port';
import type { InvalidateCacheDeps } from '#shared/use-cases/invalidate-cache.use-case';

/**
 * The cache consumers' cache, built lazily once per container. The failure destination is in
 * failure-clients.ts, warming's Postgres side in warming-clients.ts, the publishing side in
 * publish-clients.ts and the audit store in audit-clients.ts, so each function bundles only the drivers it
 * uses (the write path carries no Mongo driver, the invalidation consumer no Postgres).
 */
let consumerRedis: Redis | undefined;
let consumerCache: RouteCache | null | undefined;

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

/** Closes what this module opened (local runner shutdown, tests). */
export const closeEventClients = async (): Promise<void> => {
  const closing: Promise<unknown>[] = [];
  if (consumerRedis) {
    const r = consumerRedis;
    closing.push(r.quit().catch(() => r.disconnect()));
  }
  consumerRedis = undefined;
  consumerCache = undefined;
  await Promise.allSettled(closing);
};
