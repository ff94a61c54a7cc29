import type { CacheEntry } from '#shared/domain/cache-entry';
import { bucketOf, SPLIT_BUCKETS, type SplitKey, type SplitState, targetIndexOf } from '#shared/domain/split';
import { splitCacheKeyOf, splitEntryOf, splitStateOf } from '#shared/domain/split-cache-entry';
import type { RouteCache } from '#shared/ports/route-cache.port';
import type { SplitRepository } from '#shared/ports/split-repository.port';
import { type CacheOutcome, type CachePolicy, fill } from './resolve-route.use-case.ts';
import type { SingleFlight } from './single-flight.ts';

export interface ResolveSplitDeps {
  readonly splits: SplitRepository;
  /** Null when the deployment runs without a cache tier. */
  readonly cache: RouteCache | null;
  readonly singleFlight: SingleFlight<CacheEntry>;
  readonly policy: CachePolicy;
  readonly onCacheError?: (err: unknown) => void;
  /** For key-less resolves; [0, 1). */
  readonly random?: () => number;
}

export type SplitResolveResult =
  | {
      readonly found: true;
      readonly url: string;
      readonly version: string;
      /** The version's position (0-9) in the split's fixed order: a bounded metric label. */
      readonly slot: number;
      readonly splitRevision: number;
      readonly sticky: boolean;
      readonly cache: CacheOutcome;
    }
  | { readonly found: false; readonly cache: CacheOutcome };

const choose = (
  state: SplitState | null,
  key: SplitKey,
  routeKey: string | undefined,
  random: () => number,
  cache: CacheOutcome,
): SplitResolveResult => {
  const split = state?.split;
  if (!split) return { found: false, cache };
  const bucket =
    routeKey === undefined ? Math.floor(random() * SPLIT_BUCKETS) % SPLIT_BUCKETS : bucketOf(key, routeKey);
  const slot = targetIndexOf(split.targets, bucket);
  const target = split.targets[slot];
  if (!target) return { found: false, cache };
  return {
    found: true,
    url: target.url,
    version: target.version,
    slot,
    splitRevision: split.revision,
    sticky: routeKey !== undefined,
    cache,
  };
};

/**
 * Resolve without a version, cache-aside like resolveRoute (the same cache, the same revision rule):
 * 1. read the split's entry: a split or a negative entry answers at once (one cache read on a hit; the
 *    entry carries the versions' URLs); a tombstone or an unreadable value counts as a miss;
 * 2. otherwise wait for `admit` (the rate-limit check running alongside), then load the split and its
 *    URLs from Postgres in one statement, once per key however many callers miss together;
 * 3. store it at its cache revision (refused if a newer one is there: no stale refill);
 * 4. choose: with a key, the bucket of hash(tenant, service, env, key) — the same version while the
 *    weights stand; without one, a random bucket (not sticky).
 */
export const resolveSplit = async (
  deps: ResolveSplitDeps,
  key: SplitKey,
  routeKey: string | undefined,
  admit?: () => Promise<void>,
): Promise<SplitResolveResult> => {
  const cacheKey = splitCacheKeyOf(key);
  const random = deps.random ?? Math.random;
  let cacheUsable = deps.cache !== null;

  if (deps.cache) {
    try {
      const entry = await deps.cache.get(cacheKey);
      const state = entry ? splitStateOf(entry) : null;
      if (state) return choose(state, key, routeKey, random, state.split ? 'hit' : 'negative_hit');
    } catch (err) {
      cacheUsable = false;
      deps.onCacheError?.(err);
    }
  }

  await admit?.();
  const entry = await deps.singleFlight.run(cacheKey, async () => {
    const loaded = splitEntryOf(await deps.splits.loadSplitState(key));
    if (deps.cache && cacheUsable) await fill(deps, cacheKey, loaded);
    return loaded;
  });
  return choose(splitStateOf(entry), key, routeKey, random, cacheUsable ? 'miss' : 'bypass');
};
