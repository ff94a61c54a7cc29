import { SplitNotFoundError } from '#shared/domain/errors';
import type { WriteContext } from '#shared/domain/route';
import { type SplitKey, type SplitWriteResult, splitLabel, type Weights } from '#shared/domain/split';
import { splitCacheKeyOf } from '#shared/domain/split-cache-entry';
import type { SplitRepository } from '#shared/ports/split-repository.port';
import { type TombstoneDeps, tombstoneAndPublish, writeTombstones } from './tombstone.ts';

export interface ChangeSplitDeps extends TombstoneDeps {
  readonly splits: SplitRepository;
  /** Told after commit about each change (publishes its outbox event); bounded, never throws. */
  readonly afterCommit?: (result: SplitWriteResult) => unknown;
  readonly publishLeaseMs?: number;
}

const withLease = (deps: ChangeSplitDeps, ctx: WriteContext): WriteContext =>
  deps.publishLeaseMs ? { ...ctx, publishLeaseMs: deps.publishLeaseMs } : ctx;

/**
 * After commit, a tombstone at the split's new cache revision: the writer's next resolve misses and
 * reads its own write, and a reader still holding the old split cannot put it back.
 */
const afterWrite = async (deps: ChangeSplitDeps, result: SplitWriteResult): Promise<SplitWriteResult> => {
  if (!result.event) return result;
  await tombstoneAndPublish(
    writeTombstones(deps, [{ key: splitCacheKeyOf(result.key), revision: result.cacheRevision }]),
    () => deps.afterCommit?.(result),
  );
  return result;
};

/**
 * Set a split's weights: one transaction with its `split_changed` event (created / updated; the same
 * weights again are `unchanged`, no event), then invalidate. A named version that is not an active
 * route is a VersionUnavailableError; a failed If-Match a PreconditionFailedError (both from the store).
 */
export const putSplit = async (
  deps: ChangeSplitDeps,
  key: SplitKey,
  weights: Weights,
  ctx: WriteContext,
): Promise<SplitWriteResult> =>
  afterWrite(deps, await deps.splits.putSplit(key, weights, withLease(deps, ctx)));

/** Delete a split (its event carries the weights it had), then invalidate; no split is a SplitNotFoundError. */
export const deleteSplit = async (
  deps: ChangeSplitDeps,
  key: SplitKey,
  ctx: WriteContext,
): Promise<SplitWriteResult> => {
  const result = await deps.splits.deleteSplit(key, withLease(deps, ctx));
  if (!result) throw new SplitNotFoundError(`no split for ${splitLabel(key)}`);
  return afterWrite(deps, result);
};
