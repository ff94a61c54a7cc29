import { describe, expect, it } from 'vitest';
import { MemoryRouteCache } from '#shared/adapters/cache/route-cache.memory';
import { type CacheEntry, cacheKeyOf } from '#shared/domain/cache-entry';
import { DependencyUnavailableError } from '#shared/domain/errors';
import type { RouteCache } from '#shared/ports/route-cache.port';
import { type ResolveRouteDeps, resolveRoute } from '#shared/use-cases/resolve-route.use-case';
import { SingleFlight } from '#shared/use-cases/single-flight';
import { InMemoryRouteRepository } from '#test/support/fakes';
import { deferred, uniqueRouteKey } from '#test/support/fixtures';

const policy = { positiveTtlMs: 60_000, negativeTtlMs: 10_000, jitterRatio: 0 };

const setup = (cache: RouteCache | null = new MemoryRouteCache()) => {
  const repository = new InMemoryRouteRepository();
  const cacheErrors: unknown[] = [];
  const deps: ResolveRouteDeps = {
    repository,
    cache,
    singleFlight: new SingleFlight<CacheEntry>(),
    policy,
    onCacheError: (err) => cacheErrors.push(err),
  };
  return { repository, deps, cacheErrors };
};

const ctx = { changedBy: 'test', correlationId: null };

/** A cache whose every call fails, as Redis does when it is down. */
const brokenCache: RouteCache = {
  name: 'broken',
  get: async () => {
    throw new DependencyUnavailableError('cache', 'down');
  },
  putIfNewer: async () => {
    throw new DependencyUnavailableError('cache', 'down');
  },
  ping: async () => {
    throw new DependencyUnavailableError('cache', 'down');
  },
};

describe('resolveRoute', () => {
  it('loads a route from the repository on a miss, then answers from the cache', async () => {
    const { repository, deps } = setup();
    const key = uniqueRouteKey();
    await repository.upsertRoute(key, 'https://a.example.com', ctx);

    expect(await resolveRoute(deps, key)).toEqual({
      found: true,
      url: 'https://a.example.com',
      revision: 1,
      cache: 'miss',
    });
    expect(await resolveRoute(deps, key)).toEqual({
      found: true,
      url: 'https://a.example.com',
      revision: 1,
      cache: 'hit',
    });
    expect(repository.findCalls).toBe(1);
  });

  it('caches a missing route negatively', async () => {
    const { repository, deps } = setup();
    const key = uniqueRouteKey();
    expect(await resolveRoute(deps, key)).toEqual({ found: false, cache: 'miss' });
    expect(await resolveRoute(deps, key)).toEqual({ found: false, cache: 'negative_hit' });
    expect(repository.findCalls).toBe(1);
  });

  it('treats an inactive route as not found', async () => {
    const { repository, deps } = setup();
    const key = uniqueRouteKey();
    await repository.upsertRoute(key, 'https://a.example.com', ctx);
    await repository.setRouteActive(key, false, ctx);
    expect(await resolveRoute(deps, key)).toMatchObject({ found: false });
  });

  it('uses the negative TTL for not-found answers and the positive TTL for active routes', async () => {
    let now = 0;
    const cache = new MemoryRouteCache(100, () => now);
    const { repository, deps } = setup(cache);
    const present = uniqueRouteKey();
    const absent = uniqueRouteKey();
    await repository.upsertRoute(present, 'https://a.example.com', ctx);
    await resolveRoute(deps, present);
    await resolveRoute(deps, absent);

    now = 10_001;
    expect(cache.peek(cacheKeyOf(absent))).toBeNull();
    expect(cache.peek(cacheKeyOf(present))).not.toBeNull();
    now = 60_001;
    expect(cache.peek(cacheKeyOf(present))).toBeNull();
  });

  it('makes one repository query for many concurrent misses of the same route', async () => {
    const { repository, deps } = setup();
    const key = uniqueRouteKey();
    await repository.upsertRoute(key, 'https://a.example.com', ctx);
    const results = await Promise.all(Array.from({ length: 50 }, () => resolveRoute(deps, key)));
    expect(repository.findCalls).toBe(1);
    expect(results.every((r) => r.found && r.url === 'https://a.example.com')).toBe(true);
  });

  it('answers from the repository when the cache fails, and reports the failure', async () => {
    const { repository, deps, cacheErrors } = setup(brokenCache);
    const key = uniqueRouteKey();
    await repository.upsertRoute(key, 'https://a.example.com', ctx);
    expect(await resolveRoute(deps, key)).toMatchObject({ found: true, cache: 'bypass' });
    expect(cacheErrors.length).toBeGreaterThan(0);
  });

  it('still answers cache hits while the repository is down', async () => {
    const { repository, deps } = setup();
    const key = uniqueRouteKey();
    await repository.upsertRoute(key, 'https://a.example.com', ctx);
    await resolveRoute(deps, key);
    repository.failWith = new DependencyUnavailableError('database', 'down');
    expect(await resolveRoute(deps, key)).toMatchObject({ found: true, cache: 'hit' });
  });

  it('fails a miss with DependencyUnavailableError while the repository is down', async () => {
    const { repository, deps } = setup();
    repository.failWith = new DependencyUnavailableError('database', 'down');
    await expect(resolveRoute(deps, uniqueRouteKey())).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('works without a cache tier', async () => {
    const { repository, deps } = setup(null);
    const key = uniqueRouteKey();
    await repository.upsertRoute(key, 'https://a.example.com', ctx);
    expect(await resolveRoute(deps, key)).toMatchObject({ found: true, cache: 'bypass' });
  });

  it('never puts an older revision back after a write invalidated the cache (stale refill)', async () => {
    const cache = new MemoryRouteCache();
    const { repository, deps } = setup(cache);
    const key = uniqueRouteKey();
    await repository.upsertRoute(key, 'https://old.example.com', ctx);

    // The reader loads revision 1, then stalls before filling the cache.
    const readerLoaded = deferred();
    const releaseReader = deferred();
    const realFind = repository.findRoute.bind(repository);
    repository.findRoute = async (k) => {
      const row = await realFind(k);
      readerLoaded.resolve();
      await releaseReader.promise;
      return row;
    };
    const reader = resolveRoute(deps, key);
    await readerLoaded.promise;

    // Meanwhile a write commits revision 2 and leaves its tombstone.
    const write = await repository.upsertRoute(key, 'https://new.example.com', ctx);
    await cache.putIfNewer(cacheKeyOf(key), { kind: 'tombstone', revision: write.route.revision }, 60_000);

    releaseReader.resolve();
    expect(await reader).toMatchObject({ url: 'https://old.example.com' }); // it read before the write
    expect(cache.peek(cacheKeyOf(key))).toEqual({ kind: 'tombstone', revision: 2 });

    repository.findRoute = realFind;
    expect(await resolveRoute(deps, key)).toMatchObject({ url: 'https://new.example.com', cache: 'miss' });
  });
});
