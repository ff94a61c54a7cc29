import { entryFromRecord, jitteredTtlMs } from '#shared/domain/cache-entry';
import { isRouteEvent, type OutboxEvent } from '#shared/domain/outbox-event';
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
}

/**
 * Warm the cache for the routes a batch of events changed:
 * 1. keep one event per route (the payload only says which route changed);
 * 2. re-read the route from Postgres, the source of truth, so the entry is exactly some committed state;
 * 3. store it with its revision through `putIfNewer`: it wins only over older revisions.
 * 4. likewise each split a split_changed event or a URL change of a route names (split-cache-events.ts).
 * Postgres or cache failures throw (DependencyUnavailableError) so the batch is retried.
 */
export const warmCache = async (deps: WarmCacheDeps, events: readonly OutboxEvent[]): Promise<WarmResult> => {
  const { cache, policy } = deps;
  if (!cache) return { routes: 0, stored: 0 };
  const latest = [...latestPerRoute(events.filter(isRouteEvent))];
  const warm = async ([key, event]: (typeof latest)[number]): Promise<boolean> => {
    const entry = entryFromRecord(await deps.repository.findRoute(event));
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
  if (!deps.splits) return { routes: latest.length, stored };
  const splits = await warmSplits({ ...deps, splits: deps.splits, cache }, events);
  return { routes: latest.length + splits.splits, stored: stored + splits.stored };
};
