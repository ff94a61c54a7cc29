import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient, RedisRouteCache } from '#shared/adapters/cache/route-cache.redis';
import { getConfig } from '#shared/config/config';
import { cacheKeyOf } from '#shared/domain/cache-entry';
import { DependencyUnavailableError } from '#shared/domain/errors';
import { uniqueRouteKey } from '#test/support/fixtures';
import { routeCacheContract } from './route-cache.contract.ts';

let client: Redis;
let cache: RedisRouteCache;

beforeAll(async () => {
  client = createRedisClient(getConfig().cache);
  await new Promise((ok) => client.once('ready', ok));
  cache = new RedisRouteCache(client);
});
afterAll(() => client.quit());

describe('RedisRouteCache', () => {
  routeCacheContract(() => cache);

  it('stores entries with the TTL it is given', async () => {
    const k = cacheKeyOf(uniqueRouteKey());
    await cache.putIfNewer(k, { kind: 'absent', revision: 0 }, 10_000);
    const ttl = await client.pttl(k);
    expect(ttl).toBeGreaterThan(9_000);
    expect(ttl).toBeLessThanOrEqual(10_000);
  });

  it('treats a value in an unknown format as a miss', async () => {
    const k = cacheKeyOf(uniqueRouteKey());
    await client.set(k, 'https://legacy-format.example.com', 'PX', 10_000);
    expect(await cache.get(k)).toBeNull();
  });

  it('fails at once with DependencyUnavailableError when Redis is unreachable', async () => {
    const dead = createRedisClient({ ...getConfig().cache, redisUrl: 'redis://127.0.0.1:1' });
    dead.on('error', () => {});
    const deadCache = new RedisRouteCache(dead);
    await expect(deadCache.get('k')).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(deadCache.putIfNewer('k', { kind: 'absent', revision: 0 }, 1000)).rejects.toBeInstanceOf(
      DependencyUnavailableError,
    );
    dead.disconnect();
  });
});
