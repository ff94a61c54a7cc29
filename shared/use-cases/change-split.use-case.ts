import { DependencyUnavailableError, SplitNotFoundError } from '#shared/domain/errors';
import type { WriteContext } from '#shared/domain/route';
import { type SplitKey, type SplitWriteResult, splitLabel, type Weights } from '#shared/domain/split';
import { splitCacheKeyOf } from '#shared/domain/split-cache-entry';
import type { RouteCache } from '#shared/ports/route-cache.port';
import type { SplitRepository } from '#shared/ports/split-repository.port';

export interface ChangeSplitDeps {
  readonly splits: SplitRepository;
  readonly cache: RouteCache | null;
  /** How long the post-write tombstone lives: at least as long as any entry it must outrank. */
  readonly tombstoneTtlMs: number;
  /** Told after commit about each change (publishes its outbox event); bounded, never throws. */
  readonly afterCommit?: (result: SplitWriteResult) => unknown;
  readonly publishLeaseMs?: number;
  readonly onCacheError?: (err: unknown) => void;
}

const withLease = (deps: ChangeSplitDeps, ctx: WriteContext): WriteContext =>
  deps.publishLeaseMs ? { ...ctx, publishLeaseMs: deps.publishLeaseMs } : ctx;

/**
 * After commit, a tombstone at the split's new cache revision: the writer's next resolve misses and
 * reads its own write, and a reader still holding the old split cannot put it back. A cache failure
 * does not fail the write (the invalidation consumer and the TTL bound it).
 */
const afterWrite = async (deps: ChangeSplitDeps, result: SplitWriteResult): Promise<SplitWriteResult> => {
  if (!result.event) return result;
  if (deps.cache) {
    try {
      await deps.cache.putIfNewer(
        splitCacheKeyOf(result.key),
        { kind: 'tombstone', revision: result.cacheRevision },
        deps.tombstoneTtlMs,
      );
    } catch (err) {
      if (!(err instanceof DependencyUnavailableError)) throw err;
      deps.onCacheError?.(err);
    }
  }
  await deps.afterCommit?.(result);
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
