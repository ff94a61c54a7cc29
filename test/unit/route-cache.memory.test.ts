import { describe, expect, it } from 'vitest';
import { MemoryRouteCache, TieredRouteCache } from '#shared/adapters/cache/route-cache.memory';

const active = (revision: number, url = `https://r${revision}.example.com`) => ({
  kind: 'active' as const,
  revision,
  url,
});

describe('MemoryRouteCache', () => {
  it('evicts the oldest entry when full', async () => {
    const cache = new MemoryRouteCache(2);
    await cache.putIfNewer('a', active(1), 1000);
    await cache.putIfNewer('b', active(1), 1000);
    await cache.putIfNewer('c', active(1), 1000);
    expect(cache.peek('a')).toBeNull();
    expect(cache.size).toBe(2);
  });

  it('refuses an older revision', async () => {
    const cache = new MemoryRouteCache();
    await cache.putIfNewer('a', active(3), 1000);
    expect(await cache.putIfNewer('a', active(2), 1000)).toBe(false);
    expect(cache.peek('a')).toEqual(active(3));
  });
});

describe('TieredRouteCache (in-container tier in front of Redis)', () => {
  const setup = () => {
    let now = 0;
    const clock = () => now;
    const shared = new MemoryRouteCache(100, clock);
    const tiered = new TieredRouteCache(new MemoryRouteCache(100, clock), shared, 1000);
    return { shared, tiered, advance: (ms: number) => (now += ms) };
  };

  it('serves a change made elsewhere only after its staleness bound', async () => {
    const { shared, tiered, advance } = setup();
    await tiered.putIfNewer('k', active(1), 60_000);
    await shared.putIfNewer('k', { kind: 'tombstone', revision: 2 }, 60_000); // another container's write

    advance(999);
    expect(await tiered.get('k')).toEqual(active(1)); // within MEMORY_CACHE_TTL_MS
    advance(2);
    expect(await tiered.get('k')).toEqual({ kind: 'tombstone', revision: 2 });
  });

  it('sees a write made through itself at once', async () => {
    const { tiered } = setup();
    await tiered.putIfNewer('k', active(1), 60_000);
    await tiered.putIfNewer('k', { kind: 'tombstone', revision: 2 }, 60_000);
    expect(await tiered.get('k')).toEqual({ kind: 'tombstone', revision: 2 });
  });

  it('drops its own copy when the shared tier holds a newer revision', async () => {
    const { shared, tiered } = setup();
    await shared.putIfNewer('k', active(5), 60_000);
    expect(await tiered.putIfNewer('k', active(4), 60_000)).toBe(false);
    expect(await tiered.get('k')).toEqual(active(5));
  });
});
