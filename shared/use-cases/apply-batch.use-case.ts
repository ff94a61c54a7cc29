import { BatchRejectedError } from '#shared/domain/errors';
import { type RouteWriteResult, routeLabel, type WriteContext } from '#shared/domain/route';
import type { BatchFailure, BatchOperation } from '#shared/domain/route-batch';
import type { RouteBatchWriter } from '#shared/ports/route-batch.port';
import { type ChangeRouteDeps, tombstonesOf } from './change-route.use-case.ts';
import { type Tombstone, writeTombstones } from './tombstone.ts';

export interface ApplyBatchDeps
  extends Pick<ChangeRouteDeps, 'cache' | 'tombstoneTtlMs' | 'onCacheError' | 'afterCommitInBackground'> {
  readonly writer: RouteBatchWriter;
  /** A new batch id (UUID) per bulk change. */
  readonly newBatchId: () => string;
  /** As ChangeRouteDeps.publishLeaseMs: the writer publishes the events it leased after commit. */
  readonly publishLeaseMs?: number;
  /**
   * Told after commit about the batch's changes, in order (to publish their leased events); awaited,
   * so it must bound its own time and never throw for a delivery problem.
   */
  readonly afterCommitAll?: (results: readonly RouteWriteResult[]) => unknown;
}

const TOMBSTONES_IN_FLIGHT = 16;

/** Operations naming a route an earlier operation of the batch already names. */
export const duplicateRoutes = (operations: readonly BatchOperation[]): BatchFailure[] => {
  const first = new Map<string, number>();
  const failures: BatchFailure[] = [];
  for (const [index, { key }] of operations.entries()) {
    const label = routeLabel(key);
    const earlier = first.get(label);
    if (earlier === undefined) first.set(label, index);
    else
      failures.push({
        index,
        error: 'duplicate_route',
        message: `route ${label} is already changed by operations[${earlier}]; a batch changes each route once`,
      });
  }
  return failures;
};

/**
 * The tombstones of a batch's changes: one per changed route, and one per split whose cached entry the
 * batch changed (several of its versions' URLs may have moved), at the newest revision the batch gave it.
 */
const batchTombstones = (changed: readonly RouteWriteResult[]): Tombstone[] => {
  const newest = new Map<string, Tombstone>();
  for (const t of changed.flatMap(tombstonesOf)) {
    const seen = newest.get(t.key);
    if (!seen || seen.revision < t.revision) newest.set(t.key, t);
  }
  return [...newest.values()];
};

/**
 * Apply a bulk change, all or nothing:
 * 1. a route named twice is a conflict (409 naming every later operation): each route changes once
 *    per batch, so each of its events can be published by the writer right after commit;
 * 2. one transaction applies every operation as its single write would, each event in order and tagged
 *    with a new batch id; operations on missing routes roll it all back (404 naming each of them);
 * 3. after commit, tombstone every changed route and every split whose versions' URLs moved (the caller
 *    reads its writes at once), then publish the leased events together (the relay publishes the rest).
 * The results are in operation order, with the outcome and route each single write would answer.
 */
export const applyBatch = async (
  deps: ApplyBatchDeps,
  operations: readonly BatchOperation[],
  ctx: WriteContext,
): Promise<{ readonly batchId: string; readonly results: readonly RouteWriteResult[] }> => {
  const duplicates = duplicateRoutes(operations);
  if (duplicates.length > 0) throw new BatchRejectedError(409, duplicates);
  const batchId = deps.newBatchId();
  const applied = await deps.writer.applyBatch(operations, {
    ...ctx,
    ...(deps.publishLeaseMs ? { publishLeaseMs: deps.publishLeaseMs } : {}),
    batchId,
  });
  if (!applied.applied) {
    throw new BatchRejectedError(
      404,
      applied.missing.map((index) => ({
        index,
        error: 'route_not_found',
        message: `route ${routeLabel(operations[index]!.key)} does not exist`,
      })),
    );
  }
  const changed = applied.results.filter((r) => r.event);
  const tombstones = batchTombstones(changed);
  // A few at a time: hundreds of commands at once outlast the cache's per-command timeout on a busy
  // host and would trip its breaker (then every request of the container bypasses the cache).
  for (let i = 0; i < tombstones.length; i += TOMBSTONES_IN_FLIGHT) {
    await writeTombstones(deps, tombstones.slice(i, i + TOMBSTONES_IN_FLIGHT));
  }
  // Then the publish, not beside the tombstones as a single write does (tombstone.ts): with hundreds of
  // events encoded and sent meanwhile, the next write of a tenant the batch had charged went unlimited
  // (batch-routes.test.ts), as when the cache tier's commands time out and its breaker opens.
  if (changed.length > 0) {
    const publishing = Promise.resolve(deps.afterCommitAll?.(changed));
    if (deps.afterCommitInBackground) void publishing.catch(() => {});
    else await publishing;
  }
  return { batchId, results: applied.results };
};
