import { lengthPrefixed } from './keys.ts';
import type { RouteKey, RouteRecord } from './route.ts';

/**
 * What the cache holds for one route. Every entry carries the route revision it was built from, and a
 * store only replaces an entry with one of an equal or newer revision (see `mayReplace`). That is what
 * prevents a stale refill: a reader that loaded revision 5 cannot overwrite the tombstone (or value) that
 * the write of revision 6 left behind.
 */
export type CacheEntry =
  | { readonly kind: 'active'; readonly revision: number; readonly url: string }
  | { readonly kind: 'inactive'; readonly revision: number }
  | { readonly kind: 'absent'; readonly revision: 0 }
  | { readonly kind: 'tombstone'; readonly revision: number };

const TAG = { active: 'A', inactive: 'I', absent: 'N', tombstone: 'T' } as const;

/** Wire format `<revision>|<tag>|<url>`: compact, and the Lua script can read the revision prefix. */
export const encodeEntry = (entry: CacheEntry): string =>
  `${entry.revision}|${TAG[entry.kind]}|${entry.kind === 'active' ? entry.url : ''}`;

export const decodeEntry = (raw: string): CacheEntry | null => {
  const a = raw.indexOf('|');
  if (a <= 0 || raw.charAt(a + 2) !== '|') return null;
  const revision = Number(raw.slice(0, a));
  if (!Number.isSafeInteger(revision) || revision < 0) return null;
  switch (raw.charAt(a + 1)) {
    case 'A':
      return { kind: 'active', revision, url: raw.slice(a + 3) };
    case 'I':
      return { kind: 'inactive', revision };
    case 'N':
      return revision === 0 ? { kind: 'absent', revision: 0 } : null;
    case 'T':
      return { kind: 'tombstone', revision };
    default:
      return null;
  }
};

/**
 * The single ordering rule, shared by every cache adapter (the Redis one implements it in Lua): a newer
 * revision always wins; at an equal revision a value replaces a tombstone, but a tombstone does not
 * throw away a value of its own revision (that value is already current, e.g. one the warmer stored).
 */
export const mayReplace = (current: CacheEntry | null, next: CacheEntry): boolean => {
  if (current === null || current.revision < next.revision) return true;
  if (current.revision > next.revision) return false;
  return !(next.kind === 'tombstone' && current.kind !== 'tombstone');
};

export const entryFromRecord = (record: RouteRecord | null): CacheEntry => {
  if (!record) return { kind: 'absent', revision: 0 };
  return record.isActive
    ? { kind: 'active', revision: record.revision, url: record.url }
    : { kind: 'inactive', revision: record.revision };
};

/**
 * Cache key: each component is length-prefixed, so no choice of names (even ones containing the
 * separator, which validation already forbids) can make two routes share a key.
 */
export const cacheKeyOf = (k: RouteKey): string =>
  `tm:route:v1:${lengthPrefixed(k.tenant, k.service, k.env, k.version)}`;

/** TTL with up to `jitterRatio` added, so entries filled together do not expire together. */
export const jitteredTtlMs = (
  baseMs: number,
  jitterRatio: number,
  random: () => number = Math.random,
): number => Math.round(baseMs * (1 + jitterRatio * random()));
