import type { CacheEntry } from './cache-entry.ts';
import { lengthPrefixed } from './keys.ts';
import type { SplitKey, SplitState, SplitTarget } from './split.ts';

/**
 * A split rides in the route cache: the same store, the same entries and the same revision rule
 * (`mayReplace`, the Redis Lua script), ordered by the split's cache revision. A split is an `active`
 * entry whose value is its JSON (revision and targets, URLs included, so a resolve hit is one read);
 * no split is `absent` (never made) or `inactive` (deleted, at its cache revision).
 */
export const splitCacheKeyOf = (k: SplitKey): string =>
  `tm:split:v1:${lengthPrefixed(k.tenant, k.service, k.env)}`;

type Packed = { r: number; t: [string, number, string][] };

export const splitEntryOf = (state: SplitState): CacheEntry => {
  if (!state.split) {
    return state.cacheRevision === 0
      ? { kind: 'absent', revision: 0 }
      : { kind: 'inactive', revision: state.cacheRevision };
  }
  const packed: Packed = {
    r: state.split.revision,
    t: state.split.targets.map((t) => [t.version, t.weight, t.url]),
  };
  return { kind: 'active', revision: state.cacheRevision, url: JSON.stringify(packed) };
};

/** The state an entry holds; null for a tombstone or a value this code cannot read (a miss). */
export const splitStateOf = (entry: CacheEntry): SplitState | null => {
  if (entry.kind === 'tombstone') return null;
  if (entry.kind !== 'active') return { cacheRevision: entry.revision, split: null };
  try {
    const packed = JSON.parse(entry.url) as Packed;
    if (typeof packed.r !== 'number' || !Array.isArray(packed.t)) return null;
    const targets: SplitTarget[] = packed.t.map(([version, weight, url]) => ({ version, weight, url }));
    return { cacheRevision: entry.revision, split: { revision: packed.r, targets } };
  } catch {
    return null;
  }
};
