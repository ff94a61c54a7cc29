import type { WriteContext } from '#shared/domain/route';
import type { SplitKey, SplitRecord, SplitState, SplitWriteResult, Weights } from '#shared/domain/split';

/**
 * Splits in Postgres, the source of truth. Each write is one transaction with its outbox event; a write
 * whose `ctx.precondition` does not hold throws PreconditionFailedError and changes nothing.
 */
export interface SplitRepository {
  /** The split's weights and revision; null when there is none. */
  findSplit(key: SplitKey): Promise<SplitRecord | null>;
  /** What resolve caches: the split with its versions' URLs, at its cache revision, read in one snapshot. */
  loadSplitState(key: SplitKey): Promise<SplitState>;
  /**
   * Creates or replaces the weights. VersionUnavailableError when a named version is not an existing
   * active route (the first in the fixed order).
   */
  putSplit(key: SplitKey, weights: Weights, ctx: WriteContext): Promise<SplitWriteResult>;
  /** Null when there is no split. */
  deleteSplit(key: SplitKey, ctx: WriteContext): Promise<SplitWriteResult | null>;
}
