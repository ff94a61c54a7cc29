import { expect, it } from 'vitest';
import { cacheKeyOf } from '#shared/domain/cache-entry';
import type { RouteCache } from '#shared/ports/route-cache.port';
import { uniqueRouteKey } from '#test/support/fixtures';

/** The behaviour every RouteCache adapter must have; each adapter's test file runs it. */
export const routeCacheContract = (cache: () => RouteCache) => {
  const key = () => cacheKeyOf(uniqueRouteKey());

  it('returns null for a key it does not hold', async () => {
    expect(await cache().get(key())).toBeNull();
  });

  it('stores and returns entries of every kind', async () => {
    const k = key();
    await cache().putIfNewer(
      k,
      { kind: 'active', revision: 2, url: 'https://a.example.com/p?q=1|x' },
      60_000,
    );
    expect(await cache().get(k)).toEqual({
      kind: 'active',
      revision: 2,
      url: 'https://a.example.com/p?q=1|x',
    });
    await cache().putIfNewer(k, { kind: 'inactive', revision: 3 }, 60_000);
    expect(await cache().get(k)).toEqual({ kind: 'inactive', revision: 3 });
    await cache().putIfNewer(k, { kind: 'tombstone', revision: 4 }, 60_000);
    expect(await cache().get(k)).toEqual({ kind: 'tombstone', revision: 4 });
  });

  it('refuses an older revision and accepts an equal or newer one', async () => {
    const k = key();
    expect(await cache().putIfNewer(k, { kind: 'tombstone', revision: 5 }, 60_000)).toBe(true);
    expect(await cache().putIfNewer(k, { kind: 'active', revision: 4, url: 'https://old' }, 60_000)).toBe(
      false,
    );
    expect(await cache().putIfNewer(k, { kind: 'absent', revision: 0 }, 60_000)).toBe(false);
    expect(await cache().get(k)).toEqual({ kind: 'tombstone', revision: 5 });
    expect(await cache().putIfNewer(k, { kind: 'active', revision: 5, url: 'https://new' }, 60_000)).toBe(
      true,
    );
    expect(await cache().get(k)).toEqual({ kind: 'active', revision: 5, url: 'https://new' });
  });

  it('keeps a value when a tombstone of the same revision arrives (warming and invalidation racing)', async () => {
    const k = key();
    await cache().putIfNewer(k, { kind: 'active', revision: 3, url: 'https://warm' }, 60_000);
    expect(await cache().putIfNewer(k, { kind: 'tombstone', revision: 3 }, 60_000)).toBe(false);
    expect(await cache().get(k)).toEqual({ kind: 'active', revision: 3, url: 'https://warm' });
    expect(await cache().putIfNewer(k, { kind: 'tombstone', revision: 4 }, 60_000)).toBe(true);
  });

  it('expires entries after their TTL', async () => {
    const k = key();
    await cache().putIfNewer(k, { kind: 'absent', revision: 0 }, 50);
    await new Promise((r) => setTimeout(r, 120));
    expect(await cache().get(k)).toBeNull();
  });

  it('answers ping', async () => {
    await expect(cache().ping()).resolves.toBeUndefined();
  });
};
