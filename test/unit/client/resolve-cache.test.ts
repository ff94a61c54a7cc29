import { describe, expect, it } from 'vitest';
import { ResolveCache, SingleFlight } from '#client/resolve-cache';

const policy = { maxAgeMs: 1_000, negativeMaxAgeMs: 200, staleIfErrorMs: 10_000, maxEntries: 3 };

const setup = () => {
  let now = 0;
  const cache = new ResolveCache(policy, () => now);
  return { cache, advance: (ms: number) => (now += ms) };
};

const FOUND = { found: true as const, url: 'https://a.example.com', etag: '"1"' };

describe('ResolveCache', () => {
  it('uses an answer while younger than maxAgeMs, then asks for revalidation', () => {
    const { cache, advance } = setup();
    cache.store('k', FOUND);
    advance(999);
    expect(cache.lookup('k')).toMatchObject({ state: 'fresh', answer: FOUND });
    advance(1);
    expect(cache.lookup('k')).toMatchObject({ state: 'expired', answer: FOUND });
  });

  it('keeps "not found" for negativeMaxAgeMs', () => {
    const { cache, advance } = setup();
    cache.store('k', { found: false });
    advance(199);
    expect(cache.lookup('k').state).toBe('fresh');
    advance(1);
    expect(cache.lookup('k').state).toBe('expired');
  });

  it('restarts the age when a 304 confirms the answer', () => {
    const { cache, advance } = setup();
    const stored = cache.store('k', FOUND);
    advance(5_000);
    cache.confirm('k', stored as typeof stored & { found: true });
    expect(cache.lookup('k').state).toBe('fresh');
    expect(cache.staleAnswer('k')?.ageMs).toBe(0);
  });

  it('offers a stale answer up to staleIfErrorMs after the last confirmation, and none after', () => {
    const { cache, advance } = setup();
    cache.store('k', FOUND);
    advance(10_000);
    expect(cache.staleAnswer('k')).toEqual({ answer: { ...FOUND, confirmedAt: 0 }, ageMs: 10_000 });
    advance(1);
    expect(cache.staleAnswer('k')).toBeUndefined();
    expect(cache.staleAnswer('unknown')).toBeUndefined();
  });

  it('holds at most maxEntries, dropping the least recently stored', () => {
    const { cache } = setup();
    for (const k of ['a', 'b', 'c']) cache.store(k, FOUND);
    cache.store('a', FOUND); // stored again: now the newest
    cache.store('d', FOUND);
    expect(cache.size).toBe(3);
    expect(cache.lookup('b').state).toBe('absent');
    expect(cache.lookup('a').state).toBe('fresh');
  });
});

describe('SingleFlight', () => {
  it('runs one execution for concurrent calls of one key and hands all callers its result', async () => {
    const flights = new SingleFlight<number>();
    let runs = 0;
    let joined = 0;
    let release!: (n: number) => void;
    const work = () => {
      runs++;
      return new Promise<number>((resolve) => {
        release = resolve;
      });
    };
    const calls = Array.from({ length: 5 }, () => flights.run('k', work, () => joined++));
    const other = flights.run('other', async () => 7);
    release(42);
    expect(await Promise.all(calls)).toEqual([42, 42, 42, 42, 42]);
    expect(await other).toBe(7);
    expect(runs).toBe(1);
    expect(joined).toBe(4);
  });

  it('shares a failure with every waiting caller, then lets the next call run anew', async () => {
    const flights = new SingleFlight<number>();
    const failing = () => Promise.reject(new Error('down'));
    const results = await Promise.allSettled([flights.run('k', failing), flights.run('k', failing)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(flights.inFlight).toBe(0);
    expect(await flights.run('k', async () => 1)).toBe(1);
  });
});
