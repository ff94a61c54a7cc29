import { isRouteEvent, type OutboxEvent } from '#shared/domain/outbox-event';
import type { RouteCache } from '#shared/ports/route-cache.port';
import { latestPerRoute } from './latest-per-route.ts';
import { invalidateSplits } from './split-cache-events.ts';

export interface InvalidateCacheDeps {
  /** The shared tier (Redis), never an in-container memory tier; null when running without a cache. */
  readonly cache: RouteCache | null;
  /** At least as long as any entry the tombstone must outrank. */
  readonly tombstoneTtlMs: number;
}

export interface InvalidateResult {
  readonly routes: number;
  /** Tombstones stored; the others met an entry of a newer revision and changed nothing. */
  readonly stored: number;
}

/**
 * Invalidate the cached routes a batch of events changed:
 * 1. keep the newest event of each route;
 * 2. store a tombstone at that revision with `putIfNewer`, so an older revision can never win, whatever
 *    order events, retries and readers arrive in.
 * 3. likewise each split a split_changed event changed, at the event's cache revision.
 * A cache failure throws (DependencyUnavailableError) so the batch is retried.
 */
export const invalidateCache = async (
  deps: InvalidateCacheDeps,
  events: readonly OutboxEvent[],
): Promise<InvalidateResult> => {
  const { cache } = deps;
  if (!cache) return { routes: 0, stored: 0 };
  const latest = latestPerRoute(events.filter(isRouteEvent));
  const [stored, splits] = await Promise.all([
    Promise.all(
      [...latest].map(([key, event]) =>
        cache.putIfNewer(key, { kind: 'tombstone', revision: event.revision }, deps.tombstoneTtlMs),
      ),
    ),
    // split_changed events: the split's entry, at its cache revision (counted with the routes).
    invalidateSplits(cache, deps.tombstoneTtlMs, events),
  ]);
  return { routes: latest.size + splits.splits, stored: stored.filter(Boolean).length + splits.stored };
};
