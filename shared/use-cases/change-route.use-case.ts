import { cacheKeyOf } from '#shared/domain/cache-entry';
import { RouteNotFoundError } from '#shared/domain/errors';
import { type RouteKey, type RouteWriteResult, routeLabel, type WriteContext } from '#shared/domain/route';
import { splitCacheKeyOf } from '#shared/domain/split-cache-entry';
import type { RouteRepository } from '#shared/ports/route-repository.port';
import { type Tombstone, type TombstoneDeps, tombstoneAndPublish, writeTombstones } from './tombstone.ts';

export interface ChangeRouteDeps extends TombstoneDeps {
  readonly repository: RouteRepository;
  /**
   * Told after commit about each change, e.g. to publish its outbox event (EVENT_PUBLISHER=writer; absent
   * in Lambda, where the relay publishes). Awaited when it returns a promise unless
   * `afterCommitInBackground`, so it must bound its own time and never throw for a delivery problem.
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
}

const withLease = (deps: ChangeRouteDeps, ctx: WriteContext): WriteContext =>
  deps.publishLeaseMs ? { ...ctx, publishLeaseMs: deps.publishLeaseMs } : ctx;

/**
 * The cache entries a change replaced, at the revisions it gave them: the route's, and the split's of its
 * (tenant, service, env) when the change moved a URL that entry carries (so a resolve without a version
 * reads the write at once too). None for a no-op.
 */
export const tombstonesOf = (result: RouteWriteResult): Tombstone[] => {
  if (!result.event) return [];
  const route = { key: cacheKeyOf(result.route), revision: result.route.revision };
  if (result.splitCacheRevision === undefined) return [route];
  return [route, { key: splitCacheKeyOf(result.route), revision: result.splitCacheRevision }];
};

const afterWrite = async (deps: ChangeRouteDeps, result: RouteWriteResult): Promise<RouteWriteResult> => {
  if (result.event) {
    await tombstoneAndPublish(
      writeTombstones(deps, tombstonesOf(result)),
      () => deps.afterCommit?.(result),
      deps.afterCommitInBackground,
    );
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
