import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient, RedisRouteCache } from '#shared/adapters/cache/route-cache.redis';
import { PgRouteRepository } from '#shared/adapters/postgres/route-repository.pg';
import { getConfig } from '#shared/config/config';
import { type CacheEntry, cacheKeyOf } from '#shared/domain/cache-entry';
import type { RouteKey, RouteRecord } from '#shared/domain/route';
import { type ChangeRouteDeps, setRouteActive, upsertRoute } from '#shared/use-cases/change-route.use-case';
import { type ResolveRouteDeps, resolveRoute } from '#shared/use-cases/resolve-route.use-case';
import { SingleFlight } from '#shared/use-cases/single-flight';
import { deferred, uniqueRouteKey } from '#test/support/fixtures';
import { testPool } from '#test/support/pg';
import { startPrivateRedis } from '#test/support/private-redis';

const pool = testPool();
const repository = new PgRouteRepository(pool);
let redis: Redis;
let cache: RedisRouteCache;
const ctx = { changedBy: 'test', correlationId: null };
const policy = { positiveTtlMs: 60_000, negativeTtlMs: 10_000, jitterRatio: 0.1 };

beforeAll(async () => {
  redis = createRedisClient(getConfig().cache);
  await new Promise((ok) => redis.once('ready', ok));
  cache = new RedisRouteCache(redis);
});
afterAll(async () => {
  await pool.end();
  redis.disconnect();
});

const writeDeps = (): ChangeRouteDeps => ({ repository, cache, tombstoneTtlMs: 66_000 });
const readDeps = (repo = repository): ResolveRouteDeps => ({
  repository: repo,
  cache,
  singleFlight: new SingleFlight<CacheEntry>(),
  policy,
});

/** The real repository, but `findRoute` stops after reading until the test lets it go on. */
const gatedRepository = () => {
  const loaded = deferred();
  const release = deferred();
  const gated = Object.create(repository) as PgRouteRepository;
  gated.findRoute = async (key: RouteKey): Promise<RouteRecord | null> => {
    const row = await repository.findRoute(key);
    loaded.resolve();
    await release.promise;
    return row;
  };
  return { gated, loaded, release };
};

describe('no stale refill (Postgres + Redis, deterministic interleaving)', () => {
  it('a resolve that read the route before a deactivate cannot put the active state back', async () => {
    const key = uniqueRouteKey();
    await upsertRoute(writeDeps(), key, 'https://a.example.com', ctx);

    // 1. A reader misses the cache and reads revision 1 (active) from Postgres, then stalls.
    const { gated, loaded, release } = gatedRepository();
    const reader = resolveRoute(readDeps(gated), key);
    await loaded.promise;

    // 2. The deactivate commits revision 2 and leaves its tombstone in Redis.
    const write = await setRouteActive(writeDeps(), key, false, ctx);
    expect(write.route.revision).toBe(2);

    // 3. The reader resumes and tries to cache what it read (revision 1): refused.
    release.resolve();
    expect(await reader).toMatchObject({ found: true, url: 'https://a.example.com' });
    expect(await cache.get(cacheKeyOf(key))).toEqual({ kind: 'tombstone', revision: 2 });

    // 4. Every later resolve sees the deactivation.
    expect(await resolveRoute(readDeps(), key)).toEqual({ found: false, cache: 'miss' });
    expect(await resolveRoute(readDeps(), key)).toEqual({ found: false, cache: 'negative_hit' });
  });

  it('a resolve that saw "not found" before a create cannot put the negative entry back', async () => {
    const key = uniqueRouteKey();
    const { gated, loaded, release } = gatedRepository();
    const reader = resolveRoute(readDeps(gated), key);
    await loaded.promise;

    await upsertRoute(writeDeps(), key, 'https://new.example.com', ctx);
    release.resolve();
    expect(await reader).toMatchObject({ found: false });

    expect(await resolveRoute(readDeps(), key)).toMatchObject({
      found: true,
      url: 'https://new.example.com',
    });
  });

  it('the same race with the reader filling first: the tombstone still replaces the old entry', async () => {
    const key = uniqueRouteKey();
    await upsertRoute(writeDeps(), key, 'https://a.example.com', ctx);
    expect(await resolveRoute(readDeps(), key)).toMatchObject({ cache: 'miss' });
    await upsertRoute(writeDeps(), key, 'https://b.example.com', ctx);
    expect(await resolveRoute(readDeps(), key)).toMatchObject({
      url: 'https://b.example.com',
      cache: 'miss',
    });
    expect(await resolveRoute(readDeps(), key)).toMatchObject({ url: 'https://b.example.com', cache: 'hit' });
  });
});

describe('single-flight against Postgres', () => {
  it('makes one database query for 100 concurrent misses of one route', async () => {
    const key = uniqueRouteKey();
    await upsertRoute(writeDeps(), key, 'https://a.example.com', ctx);
    let queries = 0;
    const counting = Object.create(repository) as PgRouteRepository;
    counting.findRoute = (k) => {
      queries++;
      return repository.findRoute(k);
    };
    const deps = readDeps(counting);
    const results = await Promise.all(Array.from({ length: 100 }, () => resolveRoute(deps, key)));
    expect(queries).toBe(1);
    expect(results.every((r) => r.found)).toBe(true);
  });
});

describe('degraded Redis', () => {
  it('answers from Postgres when Redis stalls, within the command timeout, and uses Redis again after', async () => {
    const priv = await startPrivateRedis();
    const client = createRedisClient({ ...getConfig().cache, redisUrl: priv.url, commandTimeoutMs: 50 });
    client.on('error', () => {});
    await new Promise((ok) => client.once('ready', ok));
    const errors: unknown[] = [];
    const deps: ResolveRouteDeps = {
      ...readDeps(),
      cache: new RedisRouteCache(client),
      onCacheError: (e) => errors.push(e),
    };
    const key = uniqueRouteKey();
    await upsertRoute(writeDeps(), key, 'https://a.example.com', ctx);

    const stall = priv.stall(1500);
    await new Promise((r) => setTimeout(r, 20));
    const started = performance.now();
    const during = await resolveRoute(deps, key);
    const elapsed = performance.now() - started;
    expect(during).toMatchObject({ found: true, url: 'https://a.example.com', cache: 'bypass' });
    expect(errors.length).toBeGreaterThan(0);
    expect(elapsed).toBeLessThan(1000); // bounded by the Redis timeout, not by the 1.5 s stall
    await stall;

    await resolveRoute(deps, key); // Redis answers again: fills
    expect(await resolveRoute(deps, key)).toMatchObject({ cache: 'hit' });
    client.disconnect();
    await priv.stop();
  });
});
