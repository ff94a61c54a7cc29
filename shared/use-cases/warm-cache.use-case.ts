import { type CacheEntry, entryFromRecord, jitteredTtlMs } from '#shared/domain/cache-entry';
import { isRouteEvent, type OutboxEvent } from '#shared/domain/outbox-event';
import type { RouteChangedEvent } from '#shared/domain/route';
import type { RouteCache } from '#shared/ports/route-cache.port';
import type { RouteRepository } from '#shared/ports/route-repository.port';
import type { SplitRepository } from '#shared/ports/split-repository.port';
import { latestPerRoute } from './latest-per-route.ts';
import type { CachePolicy } from './resolve-route.use-case.ts';
import { warmSplits } from './split-cache-events.ts';

export interface WarmCacheDeps {
  readonly repository: RouteRepository;
  /** The shared tier (Redis), never an in-container memory tier; null when running without a cache. */
  readonly cache: RouteCache | null;
  readonly policy: CachePolicy;
  /** Routes re-read at once at most: a backlog must not take every pooled connection (default 4). */
  readonly concurrency?: number;
  readonly random?: () => number;
  /** Splits to re-read for split_changed events and URL changes of their versions; absent: none. */
  readonly splits?: SplitRepository;
}

export interface WarmResult {
  readonly routes: number;
  /** Entries stored; the others met a newer revision already cached. */
  readonly stored: number;
  /** Routes whose entry had to be re-read from Postgres (the event alone did not say their state). */
  readonly reread?: number;
}

/**
 * The route's state right after the event, when the event alone says it: every event carries the URL
 * and revision after the change, and the action (with the state before) gives the active flag. That is a
 * committed state at that revision, so caching it is as safe as caching a re-read (putIfNewer refuses
 * it once a newer revision is there). A rollback restores an earlier state the event does not carry, and
 * an action this code does not know may mean anything: those are re-read (null).
 */
export const entryFromEvent = (e: RouteChangedEvent): CacheEntry | null => {
  const active = (isActive: boolean): CacheEntry =>
    isActive
      ? { kind: 'active', revision: e.revision, url: e.url }
      : { kind: 'inactive', revision: e.revision };
  switch (e.action) {
    case 'created':
    case 'activated':
      return active(true);
    case 'deactivated':
      return active(false);
    case 'updated':
      return e.previousState === null ? null : active(e.previousState === 'active');
    default:
      return null;
  }
};

/**
 * Warm the cache for the routes a batch of events changed:
 * 1. keep the newest event per route;
 * 2. take the route's state at that revision from the event (`entryFromEvent`), or, when the event does
 *    not say it (a rollback), re-read it from Postgres, the source of truth; either way the entry is
 *    exactly some committed state (issue 15: re-reading every route cost Postgres and this consumer
 *    most of their work per write);
 * 3. store it with its revision through `putIfNewer`: it wins only over older revisions.
 * 4. likewise each split a split_changed event or a URL change of a route names (split-cache-events.ts).
 * Postgres or cache failures throw (DependencyUnavailableError) so the batch is retried.
 */
export const warmCache = async (deps: WarmCacheDeps, events: readonly OutboxEvent[]): Promise<WarmResult> => {
  const { cache, policy } = deps;
  if (!cache) return { routes: 0, stored: 0 };
  const latest = [...latestPerRoute(events.filter(isRouteEvent))];
  let reread = 0;
  const warm = async ([key, event]: (typeof latest)[number]): Promise<boolean> => {
    let entry = entryFromEvent(event);
    if (!entry) {
      reread++;
      entry = entryFromRecord(await deps.repository.findRoute(event));
    }
    const base = entry.kind === 'active' ? policy.positiveTtlMs : policy.negativeTtlMs;
    return cache.putIfNewer(key, entry, jitteredTtlMs(base, policy.jitterRatio, deps.random));
  };
  // A few routes at a time: a batch after a backlog holds hundreds of routes, and re-reading them all at
  // once queued the API's requests behind them for the pool (where a process serves both, locally).
  const step = Math.max(1, deps.concurrency ?? 4);
  let stored = 0;
  for (let i = 0; i < latest.length; i += step) {
    const done = await Promise.all(latest.slice(i, i + step).map(warm));
    stored += done.filter(Boolean).length;
  }
  if (!deps.splits) return { routes: latest.length, stored, reread };
  const splits = await warmSplits({ ...deps, splits: deps.splits, cache }, events);
  return { routes: latest.length + splits.splits, stored: stored + splits.stored, reread };
};
