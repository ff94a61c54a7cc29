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

// Hits read the same few values over and over: each is decoded once (bounded; cleared when full).
const decoded = new Map<string, SplitState | null>();
const DECODED_MAX = 1024;

const decodeSplit = (cacheRevision: number, value: string): SplitState | null => {
  try {
    const packed = JSON.parse(value) as Packed;
    if (typeof packed.r !== 'number' || !Array.isArray(packed.t)) return null;
    const targets: SplitTarget[] = packed.t.map(([version, weight, url]) => ({ version, weight, url }));
    return { cacheRevision, split: { revision: packed.r, targets } };
  } catch {
    return null;
  }
};

/** The state an entry holds; null for a tombstone or a value this code cannot read (a miss). */
export const splitStateOf = (entry: CacheEntry): SplitState | null => {
  if (entry.kind === 'tombstone') return null;
  if (entry.kind !== 'active') return { cacheRevision: entry.revision, split: null };
  const seen = decoded.get(entry.url);
  if (seen !== undefined && (seen === null || seen.cacheRevision === entry.revision)) return seen;
  if (decoded.size >= DECODED_MAX) decoded.clear();
  const state = decodeSplit(entry.revision, entry.url);
  decoded.set(entry.url, state);
  return state;
};
