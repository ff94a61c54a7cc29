import { SplitNotFoundError } from '#shared/domain/errors';
import { type SplitKey, type SplitRecord, splitLabel } from '#shared/domain/split';
import type { SplitRepository } from '#shared/ports/split-repository.port';

/** GET a split from Postgres (an operator reads the source of truth, not the cache); none is a 404 no_split. */
export const getSplit = async (
  deps: { readonly splits: SplitRepository },
  key: SplitKey,
): Promise<SplitRecord> => {
  const split = await deps.splits.findSplit(key);
  if (!split) throw new SplitNotFoundError(`no split for ${splitLabel(key)}`);
  return split;
};
