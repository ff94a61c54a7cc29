import { jitteredTtlMs } from '#shared/domain/cache-entry';
import { isRouteEvent, isSplitEvent, type OutboxEvent } from '#shared/domain/outbox-event';
import type { SplitChangedEvent, SplitKey } from '#shared/domain/split';
import { splitCacheKeyOf, splitEntryOf } from '#shared/domain/split-cache-entry';
import type { RouteCache } from '#shared/ports/route-cache.port';
import type { SplitRepository } from '#shared/ports/split-repository.port';
import type { CachePolicy } from './resolve-route.use-case.ts';

/** The newest split_changed event of each split in a batch, by cache key. */
const latestPerSplit = (events: readonly OutboxEvent[]): Map<string, SplitChangedEvent> => {
  const latest = new Map<string, SplitChangedEvent>();
  for (const event of events) {
    if (!isSplitEvent(event)) continue;
    const key = splitCacheKeyOf(event);
    const seen = latest.get(key);
    if (!seen || seen.cacheRevision < event.cacheRevision) latest.set(key, event);
  }
  return latest;
};

/** Tombstones each changed split's entry at the event's cache revision; the number stored. */
export const invalidateSplits = async (
  cache: RouteCache,
  tombstoneTtlMs: number,
  events: readonly OutboxEvent[],
): Promise<{ splits: number; stored: number }> => {
  const latest = latestPerSplit(events);
  const stored = await Promise.all(
    [...latest].map(([key, e]) =>
      cache.putIfNewer(key, { kind: 'tombstone', revision: e.cacheRevision }, tombstoneTtlMs),
    ),
  );
  return { splits: latest.size, stored: stored.filter(Boolean).length };
};

/**
 * The splits whose cached entry a batch changed: those with a split_changed event, and those of routes
 * whose URL may have changed (updated, rolled_back: the entry carries the URLs of the split's versions).
 */
const splitsToWarm = (events: readonly OutboxEvent[]): Map<string, SplitKey> => {
  const keys = new Map<string, SplitKey>();
  for (const e of events) {
    if (isRouteEvent(e) && e.action !== 'updated' && e.action !== 'rolled_back') continue;
    const key: SplitKey = { tenant: e.tenant, service: e.service, env: e.env };
    keys.set(splitCacheKeyOf(key), key);
  }
  return keys;
};

/** Re-reads each changed split (with its URLs) from Postgres and stores it at its cache revision. */
export const warmSplits = async (
  deps: {
    readonly splits: SplitRepository;
    readonly cache: RouteCache;
    readonly policy: CachePolicy;
    readonly random?: () => number;
  },
  events: readonly OutboxEvent[],
): Promise<{ splits: number; stored: number }> => {
  const keys = [...splitsToWarm(events)];
  let stored = 0;
  for (const [cacheKey, key] of keys) {
    const state = await deps.splits.loadSplitState(key);
    // A route change in an environment without a split: nothing to warm (and no entry to write).
    if (state.cacheRevision === 0) continue;
    const entry = splitEntryOf(state);
    const base = entry.kind === 'active' ? deps.policy.positiveTtlMs : deps.policy.negativeTtlMs;
    if (
      await deps.cache.putIfNewer(cacheKey, entry, jitteredTtlMs(base, deps.policy.jitterRatio, deps.random))
    )
      stored++;
  }
  return { splits: keys.length, stored };
};
