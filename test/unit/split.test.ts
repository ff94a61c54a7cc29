import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { putSplitBodySchema } from '#functions/splits/split.schema';
import { ValidationError } from '#shared/domain/errors';
import { parseOrThrow } from '#shared/domain/route.schema';
import {
  bucketOf,
  SPLIT_BUCKETS,
  type SplitKey,
  type SplitTarget,
  targetIndexOf,
  targetsOf,
  type Weights,
} from '#shared/domain/split';
import { splitEntryOf, splitStateOf } from '#shared/domain/split-cache-entry';

const split: SplitKey = { tenant: 'acme', service: 'payments', env: 'prod' };
const KEYS = Array.from({ length: 10_000 }, (_, i) => `customer-${i}`);

const targets = (weights: Weights): SplitTarget[] =>
  targetsOf(weights, Object.fromEntries(Object.keys(weights).map((v) => [v, `https://${v}.example.com/`])));

// Hashed once: the properties below re-map the same keys under many weights.
const BUCKETS = new Map(KEYS.map((k) => [k, bucketOf(split, k)]));

/** The version each key gets under `weights`. */
const assign = (weights: Weights, keys: readonly string[] = KEYS): string[] => {
  const t = targets(weights);
  return keys.map((k) => t[targetIndexOf(t, BUCKETS.get(k) ?? bucketOf(split, k))]!.version);
};

const shares = (versions: readonly string[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const v of versions) out[v] = (out[v] ?? 0) + 100 / versions.length;
  return out;
};

describe('split buckets', () => {
  it.each([
    [{ v2: 90, v3: 10 }],
    [{ v2: 95, v3: 5 }],
    [{ a: 50, b: 30, c: 20 }],
    [{ v1: 10, v2: 10, v3: 10, v4: 10, v5: 10, v6: 10, v7: 10, v8: 10, v9: 10, w: 10 }],
  ])('spreads 10,000 keys within 1.5 percentage points of the weights %j', (weights) => {
    const got = shares(assign(weights));
    for (const [version, weight] of Object.entries(weights)) {
      expect(Math.abs((got[version] ?? 0) - weight), version).toBeLessThanOrEqual(1.5);
    }
  });

  it('gives a key the same bucket in every process: a pure function of (tenant, service, env, key)', () => {
    // Known answers: a change here would move every caller to other versions on deploy.
    expect(bucketOf(split, 'customer-42')).toBe(bucketOf({ ...split }, 'customer-42'));
    expect([bucketOf(split, 'customer-42'), bucketOf(split, '')]).toEqual([5985, 8525]);
    // The split's names take part: the same key is independent across splits.
    expect(bucketOf({ ...split, env: 'staging' }, 'customer-42')).not.toBe(bucketOf(split, 'customer-42'));
    // Length-prefixed: moving characters between names and key is another input.
    expect(bucketOf({ tenant: 'a', service: 'b', env: 'cd' }, 'e')).not.toBe(
      bucketOf({ tenant: 'a', service: 'b', env: 'c' }, 'de'),
    );
  });

  it('lays versions out in byte order of their names, whatever the order of the weights object', () => {
    expect(assign({ v3: 10, v2: 90 })).toEqual(assign({ v2: 90, v3: 10 }));
    expect(targets({ b: 50, B: 20, a: 30 }).map((t) => t.version)).toEqual(['B', 'a', 'b']);
  });

  it('never chooses a version of weight 0', () => {
    expect(new Set(assign({ v1: 0, v2: 100, v3: 0 }))).toEqual(new Set(['v2']));
  });

  it('maps bucket b of 10,000 to the version whose cumulative range holds it', () => {
    const t = targets({ v2: 90, v3: 10 });
    expect(targetIndexOf(t, 0)).toBe(0);
    expect(targetIndexOf(t, 8999)).toBe(0);
    expect(targetIndexOf(t, 9000)).toBe(1);
    expect(targetIndexOf(t, SPLIT_BUCKETS - 1)).toBe(1);
    // A version missing from the targets (never expected): the others share every bucket by weight.
    const partial = [t[0]!, { version: 'v9', weight: 30, url: 'https://v9.example.com/' }];
    expect(targetIndexOf(partial, 7499)).toBe(0);
    expect(targetIndexOf(partial, 7500)).toBe(1);
    expect(targetIndexOf([], 0)).toBe(-1);
  });
});

describe('moving weight', () => {
  it('raising v3 from 10 to 20 moves about 10 % of keys, all from v2 to v3', () => {
    const before = assign({ v2: 90, v3: 10 });
    const after = assign({ v2: 80, v3: 20 });
    const moved = before.flatMap((v, i) => (v === after[i] ? [] : [`${v}->${after[i]}`]));
    expect(new Set(moved)).toEqual(new Set(['v2->v3']));
    expect(Math.abs((moved.length / KEYS.length) * 100 - 10)).toBeLessThanOrEqual(1.5);
  });

  it('moves keys only between the two versions when weight moves between neighbours in the order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 2, maxLength: 10 }),
        fc.nat(),
        fc.nat(),
        (raw, at, amount) => {
          // Weights summing to 100 over versions v0..vn (byte order = index order for n < 10).
          const total = raw.reduce((a, b) => a + b, 0) || 1;
          const w = raw.map((x) => Math.floor((x * 100) / total));
          w[0]! += 100 - w.reduce((a, b) => a + b, 0);
          const i = at % (w.length - 1);
          const shift = Math.min(amount % 101, w[i]!);
          const next = [...w];
          next[i]! -= shift;
          next[i + 1]! += shift;
          const named = (ws: number[]) => Object.fromEntries(ws.map((x, k) => [`v${k}`, x]));
          const keys = KEYS.slice(0, 500);
          const before = assign(named(w), keys);
          const after = assign(named(next), keys);
          for (let k = 0; k < keys.length; k++) {
            if (before[k] !== after[k]) expect([before[k], after[k]]).toEqual([`v${i}`, `v${i + 1}`]);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('never moves a key between two unchanged versions of a split of up to three versions', () => {
    // With three versions at most two are unchanged only if the third is too (weights sum to 100), so
    // every key that moves has left or joined a changed version.
    fc.assert(
      fc.property(
        fc.tuple(fc.nat(100), fc.nat(100)).map(([a, b]) => [Math.min(a, b), Math.max(a, b)]),
        fc.tuple(fc.nat(100), fc.nat(100)).map(([a, b]) => [Math.min(a, b), Math.max(a, b)]),
        ([a1, b1], [a2, b2]) => {
          const w1 = { a: a1!, b: b1! - a1!, c: 100 - b1! };
          const w2 = { a: a2!, b: b2! - a2!, c: 100 - b2! };
          const changed = new Set(Object.keys(w1).filter((v) => w1[v as 'a'] !== w2[v as 'a']));
          const keys = KEYS.slice(0, 500);
          const before = assign(w1, keys);
          const after = assign(w2, keys);
          for (let k = 0; k < keys.length; k++) {
            if (before[k] !== after[k]) {
              expect(changed.has(before[k]!) || changed.has(after[k]!), `${before[k]}->${after[k]}`).toBe(
                true,
              );
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('split request bodies', () => {
  const body = (weights: unknown) => ({ tenant: 'acme', service: 'payments', env: 'prod', weights });
  const issueOf = (weights: unknown) => {
    try {
      parseOrThrow(putSplitBodySchema, body(weights));
    } catch (err) {
      if (err instanceof ValidationError) return err.issues[0];
      throw err;
    }
    return undefined;
  };

  it('accepts 1-10 versions of integer weights 0-100 summing to 100', () => {
    expect(issueOf({ v2: 90, v3: 10 })).toBeUndefined();
    expect(issueOf({ v2: 100 })).toBeUndefined();
    expect(issueOf({ v1: 0, v2: 100 })).toBeUndefined();
  });

  it.each([
    [{ v2: 90, v3: 20 }, 'weights', 'must sum to 100 (they sum to 110)'],
    [{}, 'weights', 'must name 1 to 10 versions'],
    [
      Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`v${i}`, i === 0 ? 90 : 1])),
      'weights',
      'must name 1 to 10 versions',
    ],
    [{ v2: 90.5, v3: 9.5 }, 'weights.v2', 'must be an integer from 0 to 100'],
    [{ v2: 110, v3: -10 }, 'weights.v2', 'must be an integer from 0 to 100'],
    [{ 'bad version': 100 }, 'weights.bad version', 'each version must be a valid version name'],
    [[90, 10], 'weights', 'must be an object of version: weight'],
  ])('refuses weights %j, naming %s', (weights, field, message) => {
    expect(issueOf(weights)).toMatchObject({ field, message });
  });
});

describe('the cached split', () => {
  it('carries the split revision and targets at its cache revision, and reads back the same', () => {
    const state = { cacheRevision: 7, split: { revision: 5, targets: targets({ v2: 90, v3: 10 }) } };
    const entry = splitEntryOf(state);
    expect(entry).toMatchObject({ kind: 'active', revision: 7 });
    expect(splitStateOf(entry)).toEqual(state);
  });

  it('is negative for a deleted split (at its cache revision) or one never made, and a tombstone is a miss', () => {
    expect(splitEntryOf({ cacheRevision: 4, split: null })).toEqual({ kind: 'inactive', revision: 4 });
    expect(splitEntryOf({ cacheRevision: 0, split: null })).toEqual({ kind: 'absent', revision: 0 });
    expect(splitStateOf({ kind: 'inactive', revision: 4 })).toEqual({ cacheRevision: 4, split: null });
    expect(splitStateOf({ kind: 'tombstone', revision: 4 })).toBeNull();
    expect(splitStateOf({ kind: 'active', revision: 4, url: 'https://not-a-split.example/' })).toBeNull();
  });
});
