import { cacheKeyOf } from '#shared/domain/cache-entry';
import { DependencyUnavailableError, RouteNotFoundError } from '#shared/domain/errors';
import { type RouteKey, type RouteWriteResult, routeLabel, type WriteContext } from '#shared/domain/route';
import type { RouteCache } from '#shared/ports/route-cache.port';
import type { RouteRepository } from '#shared/ports/route-repository.port';

export interface ChangeRouteDeps {
  readonly repository: RouteRepository;
  readonly cache: RouteCache | null;
  /** How long the post-write tombstone lives: at least as long as any entry it must outrank. */
  readonly tombstoneTtlMs: number;
  /**
   * Told after commit about each change, e.g. to publish its outbox event. Awaited when it returns a
   * promise (in Lambda the publish must end before the response: a frozen container cannot finish it),
   * so it must bound its own time and never throw for a delivery problem.
   */
  readonly afterCommit?: (result: RouteWriteResult) => unknown;
  /**
   * Answer without waiting for `afterCommit` (it goes on behind the answer). Only where the process lives
   * on after answering (not Lambda); delivery does not depend on it (the relay publishes what is left).
   */
  readonly afterCommitInBackground?: boolean;
  /**
   * How long a write reserves publishing its own event (RouteWriteResult.publishLeased) for
   * `afterCommit`; 0 or absent leaves every event to the relay.
   */
  readonly publishLeaseMs?: number;
  readonly onCacheError?: (err: unknown) => void;
}

const withLease = (deps: ChangeRouteDeps, ctx: WriteContext): WriteContext =>
  deps.publishLeaseMs ? { ...ctx, publishLeaseMs: deps.publishLeaseMs } : ctx;

/**
 * After commit, replace the route's cache entry with a tombstone carrying the new revision: readers
 * miss and reload, and a reader still holding the old row cannot put it back (older revision).
 * A cache failure here does not fail the write; the invalidation consumer and the TTL bound it.
 */
export const invalidate = async (
  deps: Pick<ChangeRouteDeps, 'cache' | 'tombstoneTtlMs' | 'onCacheError'>,
  result: RouteWriteResult,
): Promise<void> => {
  if (!deps.cache || !result.event) return;
  try {
    await deps.cache.putIfNewer(
      cacheKeyOf(result.route),
      { kind: 'tombstone', revision: result.route.revision },
      deps.tombstoneTtlMs,
    );
  } catch (err) {
    if (!(err instanceof DependencyUnavailableError)) throw err;
    deps.onCacheError?.(err);
  }
};

const afterWrite = async (deps: ChangeRouteDeps, result: RouteWriteResult): Promise<RouteWriteResult> => {
  if (result.event) {
    await invalidate(deps, result);
    if (deps.afterCommitInBackground) void Promise.resolve(deps.afterCommit?.(result)).catch(() => {});
    else await deps.afterCommit?.(result);
  }
  return result;
};

/**
 * Create or update a route (one transaction with its outbox event):
 * new → `created`; same URL → `unchanged` and no event; other URL → `updated` with the previous URL.
 * Then invalidate the cache so the caller reads its own write.
 */
export const upsertRoute = async (
  deps: ChangeRouteDeps,
  key: RouteKey,
  url: string,
  ctx: WriteContext,
): Promise<RouteWriteResult> =>
  afterWrite(deps, await deps.repository.upsertRoute(key, url, withLease(deps, ctx)));

/**
 * Activate or deactivate an existing route: a missing route is a RouteNotFoundError; a route already
 * in that state is `unchanged` with no event; otherwise one transaction with its event, then invalidate.
 */
export const setRouteActive = async (
  deps: ChangeRouteDeps,
  key: RouteKey,
  active: boolean,
  ctx: WriteContext,
): Promise<RouteWriteResult> => {
  const result = await deps.repository.setRouteActive(key, active, withLease(deps, ctx));
  if (!result) throw new RouteNotFoundError(`route ${routeLabel(key)} does not exist`);
  return afterWrite(deps, result);
};

/**
 * Roll a route back to the URL and active state it had before its latest change (or at `toRevision`),
 * as a new revision with a `rolled_back` event, in one transaction; then invalidate like any write.
 * A missing route is a RouteNotFoundError; no such earlier revision a NothingToRollBackError (from the
 * repository); that state being the current one is `unchanged` with no event.
 */
export const rollbackRoute = async (
  deps: ChangeRouteDeps,
  key: RouteKey,
  toRevision: number | null,
  ctx: WriteContext,
): Promise<RouteWriteResult> => {
  const result = await deps.repository.rollbackRoute(key, toRevision, withLease(deps, ctx));
  if (!result) throw new RouteNotFoundError(`route ${routeLabel(key)} does not exist`);
  return afterWrite(deps, result);
};
