import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CacheEntry,
  cacheKeyOf,
  decodeEntry,
  encodeEntry,
  jitteredTtlMs,
  mayReplace,
} from '#shared/domain/cache-entry';

const entries: CacheEntry[] = [
  { kind: 'active', revision: 7, url: 'https://a.example.com/x|y' },
  { kind: 'inactive', revision: 3 },
  { kind: 'absent', revision: 0 },
  { kind: 'tombstone', revision: 9 },
];

describe('cache entries', () => {
  it.each(entries)('round-trips a $kind entry', (entry) => {
    expect(decodeEntry(encodeEntry(entry))).toEqual(entry);
  });

  it.each(['', 'garbage', 'x|A|u', '-1|A|u', '3|Z|', '3|N|', 'https://old-format'])(
    'rejects the malformed value %j',
    (raw) => {
      expect(decodeEntry(raw)).toBeNull();
    },
  );

  it('lets only an equal or newer revision replace an entry', () => {
    const at = (revision: number): CacheEntry => ({ kind: 'tombstone', revision });
    expect(mayReplace(null, at(1))).toBe(true);
    expect(mayReplace(at(5), at(6))).toBe(true);
    expect(mayReplace(at(5), at(5))).toBe(true);
    expect(mayReplace(at(6), at(5))).toBe(false);
    expect(mayReplace(at(6), { kind: 'absent', revision: 0 })).toBe(false);
  });

  it('keeps a value when a tombstone of the same revision arrives, but lets a value replace a tombstone', () => {
    const value: CacheEntry = { kind: 'active', revision: 4, url: 'https://a' };
    expect(mayReplace(value, { kind: 'tombstone', revision: 4 })).toBe(false);
    expect(mayReplace({ kind: 'tombstone', revision: 4 }, value)).toBe(true);
    expect(mayReplace(value, { kind: 'tombstone', revision: 5 })).toBe(true);
  });
});

describe('cache keys', () => {
  it('keeps tenant "x:y" apart from tenant "x" (the seed collision)', () => {
    const a = cacheKeyOf({ tenant: 'x:y', service: 's', env: 'e', version: 'v' });
    const b = cacheKeyOf({ tenant: 'x', service: 'y:s', env: 'e', version: 'v' });
    expect(a).not.toBe(b);
  });

  it('maps distinct routes to distinct keys, whatever the names', () => {
    const part = fc.string({ maxLength: 8 });
    const key = fc.record({ tenant: part, service: part, env: part, version: part });
    fc.assert(
      fc.property(key, key, (a, b) => {
        const same =
          a.tenant === b.tenant && a.service === b.service && a.env === b.env && a.version === b.version;
        expect(cacheKeyOf(a) === cacheKeyOf(b)).toBe(same);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('TTL jitter', () => {
  it('adds between 0 and the jitter ratio to the base TTL', () => {
    expect(jitteredTtlMs(60_000, 0.1, () => 0)).toBe(60_000);
    expect(jitteredTtlMs(60_000, 0.1, () => 0.999)).toBe(65_994);
    expect(jitteredTtlMs(10_000, 0, () => 0.5)).toBe(10_000);
  });
});
