import type { CacheEntry } from '#shared/domain/cache-entry';

/**
 * Read cache for resolved routes. Adapters throw `DependencyUnavailableError('cache', …)` when the
 * store is slow or down; callers decide whether that is fatal (it never is on the resolve path).
 */
export interface RouteCache {
  readonly name: string;
  get(key: string): Promise<CacheEntry | null>;
  /** Stores `entry` unless the cache already holds a newer revision; true when stored. */
  putIfNewer(key: string, entry: CacheEntry, ttlMs: number): Promise<boolean>;
  ping(): Promise<void>;
}
