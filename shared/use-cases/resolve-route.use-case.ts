import { type CacheEntry, cacheKeyOf, entryFromRecord, jitteredTtlMs } from '#shared/domain/cache-entry';
import { DependencyUnavailableError } from '#shared/domain/errors';
import type { RouteKey } from '#shared/domain/route';
import type { RouteCache } from '#shared/ports/route-cache.port';
import type { RouteRepository } from '#shared/ports/route-repository.port';
import type { SingleFlight } from './single-flight.ts';

export interface CachePolicy {
  readonly positiveTtlMs: number;
  readonly negativeTtlMs: number;
  readonly jitterRatio: number;
}

export interface ResolveRouteDeps {
  readonly repository: RouteRepository;
  /** Null when the deployment runs without a cache tier. */
  readonly cache: RouteCache | null;
  readonly singleFlight: SingleFlight<CacheEntry>;
  readonly policy: CachePolicy;
  /** Told when the cache failed, so the caller can count and log it; resolve carries on. */
  readonly onCacheError?: (err: unknown) => void;
}

/** hit / negative_hit: answered by the cache; miss: loaded from Postgres; bypass: cache unavailable. */
export const CACHE_OUTCOMES = ['hit', 'negative_hit', 'miss', 'bypass'] as const;
export type CacheOutcome = (typeof CACHE_OUTCOMES)[number];

export type ResolveResult =
  | { readonly found: true; readonly url: string; readonly revision: number; readonly cache: CacheOutcome }
  | { readonly found: false; readonly cache: CacheOutcome };

const answer = (entry: CacheEntry, cache: CacheOutcome): ResolveResult =>
  entry.kind === 'active'
    ? { found: true, url: entry.url, revision: entry.revision, cache }
    : { found: false, cache };

/**
 * Resolve a route, cache-aside:
 * 1. read the cache; an active or negative entry answers at once (a tombstone counts as a miss);
 * 2. otherwise wait for `admit` (the caller's rate-limit check, already running alongside the cache
 *    read), which throws when the caller is over its limit: a throttled caller never reaches Postgres;
 * 3. load from Postgres, once per key however many callers miss together (single-flight);
 * 4. store what was read with its revision, which the cache refuses if a newer revision is there;
 * 5. a failing cache never fails the resolve; a failing database does (503), except on cache hits.
 */
export const resolveRoute = async (
  deps: ResolveRouteDeps,
  key: RouteKey,
  admit?: () => Promise<void>,
): Promise<ResolveResult> => {
  const cacheKey = cacheKeyOf(key);
  let cacheUsable = deps.cache !== null;

  if (deps.cache) {
    try {
      const entry = await deps.cache.get(cacheKey);
      if (entry && entry.kind !== 'tombstone') {
        return answer(entry, entry.kind === 'active' ? 'hit' : 'negative_hit');
      }
    } catch (err) {
      cacheUsable = false;
      deps.onCacheError?.(err);
    }
  }

  await admit?.();
  const entry = await deps.singleFlight.run(cacheKey, async () => {
    const loaded = entryFromRecord(await deps.repository.findRoute(key));
    if (deps.cache && cacheUsable) await fill(deps, cacheKey, loaded);
    return loaded;
  });
  return answer(entry, cacheUsable ? 'miss' : 'bypass');
};

/** Stores a loaded entry with its TTL (positive or negative); a cache failure is reported, never thrown. */
export const fill = async (
  deps: Pick<ResolveRouteDeps, 'cache' | 'policy' | 'onCacheError'>,
  cacheKey: string,
  entry: CacheEntry,
): Promise<void> => {
  const { positiveTtlMs, negativeTtlMs, jitterRatio } = deps.policy;
  const base = entry.kind === 'active' ? positiveTtlMs : negativeTtlMs;
  try {
    await deps.cache!.putIfNewer(cacheKey, entry, jitteredTtlMs(base, jitterRatio));
  } catch (err) {
    if (!(err instanceof DependencyUnavailableError)) throw err;
    deps.onCacheError?.(err);
  }
};
