import { DependencyUnavailableError } from '#shared/domain/errors';
import type { RouteCache } from '#shared/ports/route-cache.port';

export interface TombstoneDeps {
  readonly cache: RouteCache | null;
  /** How long the post-write tombstone lives: at least as long as any entry it must outrank. */
  readonly tombstoneTtlMs: number;
  readonly onCacheError?: (err: unknown) => void;
}

/** A cache entry a committed write replaced, with the revision the write gave it. */
export interface Tombstone {
  readonly key: string;
  readonly revision: number;
}

/**
 * After commit, replace each entry with a tombstone at the write's revision: the writer's next read
 * misses and reloads (it reads its own write), and a reader still holding the older value cannot put it
 * back (older revision). A cache failure does not fail the write: the invalidation consumer and the TTL
 * bound it.
 */
export const writeTombstones = async (
  deps: TombstoneDeps,
  tombstones: readonly Tombstone[],
): Promise<void> => {
  const { cache } = deps;
  if (!cache) return;
  await Promise.all(
    tombstones.map(async ({ key, revision }) => {
      try {
        await cache.putIfNewer(key, { kind: 'tombstone', revision }, deps.tombstoneTtlMs);
      } catch (err) {
        if (!(err instanceof DependencyUnavailableError)) throw err;
        deps.onCacheError?.(err);
      }
    }),
  );
};

/**
 * After commit: write the tombstones and run the after-commit work (the publish) side by side. They are
 * independent: at an equal revision a tombstone never replaces a value (put-if-newer.lua.ts), so a
 * consumer's entry and the writer's tombstone are right in either order. The answer waits for the
 * tombstones (the writer reads its own write) and, unless `inBackground`, for the after-commit work.
 */
export const tombstoneAndPublish = async (
  tombstoning: Promise<void>,
  publish: () => unknown,
  inBackground = false,
): Promise<void> => {
  const publishing = Promise.resolve().then(publish);
  if (inBackground) {
    void publishing.catch(() => {});
    await tombstoning;
  } else {
    await Promise.all([tombstoning, publishing]);
  }
};
