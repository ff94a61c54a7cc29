import { MemoryRouteCache, TieredRouteCache } from '#shared/adapters/cache/route-cache.memory';
import { RedisRouteCache } from '#shared/adapters/cache/route-cache.redis';
import { getConfig } from '#shared/config/config';
import type { RouteCache } from '#shared/ports/route-cache.port';
import { GuardedRouteCache } from '#shared/resilience/guarded-adapters';
import { guardFor } from '#shared/resilience/registry';
import { getRedisClient } from './cache-clients.ts';

/** The route cache tier (Redis, or Upstash over HTTPS), once per container; null without one. */
let cache: RouteCache | null | undefined;

// Imported only where Upstash is selected (a module-level await: the container's first use pays for it).
const upstash =
  getConfig().cache.backend === 'upstash' ? await import('#shared/adapters/cache/route-cache.upstash') : null;

const buildCache = (): RouteCache | null => {
  const c = getConfig().cache;
  let shared: RouteCache | null = null;
  const client = getRedisClient();
  if (client) {
    shared = new RedisRouteCache(client);
  } else if (c.backend === 'upstash' && upstash) {
    shared = new upstash.UpstashRouteCache({
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

/** Forgets the route cache (its Redis connection is closed by closeCacheClients). */
export const closeRouteCacheClients = (): void => {
  cache = undefined;
};
