import { describe, expect, it } from 'vitest';
import { MemoryRouteCache } from '#shared/adapters/cache/route-cache.memory';
import type { CacheEntry } from '#shared/domain/cache-entry';
import { SplitNotFoundError } from '#shared/domain/errors';
import type { WriteContext } from '#shared/domain/route';
import type { SplitKey, SplitRecord, SplitState, SplitWriteResult, Weights } from '#shared/domain/split';
import { splitCacheKeyOf } from '#shared/domain/split-cache-entry';
import type { SplitRepository } from '#shared/ports/split-repository.port';
import { type ChangeSplitDeps, deleteSplit, putSplit } from '#shared/use-cases/change-split.use-case';
import { invalidateCache } from '#shared/use-cases/invalidate-cache.use-case';
import { type ResolveSplitDeps, resolveSplit } from '#shared/use-cases/resolve-split.use-case';
import { SingleFlight } from '#shared/use-cases/single-flight';

const key: SplitKey = { tenant: 'acme', service: 'payments', env: 'prod' };
const policy = { positiveTtlMs: 60_000, negativeTtlMs: 10_000, jitterRatio: 0 };
const ctx: WriteContext = { changedBy: 'test', correlationId: null };
const URLS: Record<string, string> = { v2: 'https://v2.example.com/', v3: 'https://v3.example.com/' };

/** One split in memory, with the revision rules of the Postgres functions. */
class FakeSplits implements SplitRepository {
  weights: Weights | null = null;
  revision = 0;
  cacheRevision = 0;
  loads = 0;

  async findSplit(k: SplitKey): Promise<SplitRecord | null> {
    return this.weights ? { ...k, weights: this.weights, revision: this.revision } : null;
  }

  async loadSplitState(): Promise<SplitState> {
    this.loads++;
    if (!this.weights) return { cacheRevision: this.cacheRevision, split: null };
    const targets = Object.keys(this.weights)
      .sort()
      .map((v) => ({ version: v, weight: this.weights![v]!, url: URLS[v]! }));
    return { cacheRevision: this.cacheRevision, split: { revision: this.revision, targets } };
  }

  private change(
    k: SplitKey,
    weights: Weights | null,
    outcome: SplitWriteResult['outcome'],
  ): SplitWriteResult {
    const previous = this.weights;
    this.weights = weights;
    this.revision++;
    this.cacheRevision++;
    return {
      outcome,
      key: k,
      weights,
      revision: this.revision,
      cacheRevision: this.cacheRevision,
      publishLeased: false,
      event: {
        eventId: `e${this.revision}`,
        eventType: 'split_changed',
        action: 'split_changed',
        ...k,
        weights,
        previousWeights: previous,
        revision: this.revision,
        cacheRevision: this.cacheRevision,
        changedBy: 'test',
        occurredAt: new Date().toISOString(),
        correlationId: null,
      },
    };
  }

  async putSplit(k: SplitKey, weights: Weights): Promise<SplitWriteResult> {
    return this.change(k, weights, this.weights ? 'updated' : 'created');
  }

  async deleteSplit(k: SplitKey): Promise<SplitWriteResult | null> {
    return this.weights ? this.change(k, null, 'deleted') : null;
  }
}

/** The memory cache, counting reads. */
class CountingCache extends MemoryRouteCache {
  reads = 0;
  override async get(k: string): Promise<CacheEntry | null> {
    this.reads++;
    return super.get(k);
  }
}

const setup = () => {
  const splits = new FakeSplits();
  const cache = new CountingCache();
  const resolveDeps: ResolveSplitDeps = {
    splits,
    cache,
    singleFlight: new SingleFlight<CacheEntry>(),
    policy,
    random: () => 0.95,
  };
  const changeDeps: ChangeSplitDeps = { splits, cache, tombstoneTtlMs: 120_000 };
  return { splits, cache, resolveDeps, changeDeps };
};

describe('resolveSplit', () => {
  it('answers a hit with one cache read and no database read', async () => {
    const { splits, cache, resolveDeps, changeDeps } = setup();
    await putSplit(changeDeps, key, { v2: 90, v3: 10 }, ctx);
    await resolveSplit(resolveDeps, key, 'customer-1'); // miss: loads and fills
    const [reads, loads] = [cache.reads, splits.loads];

    const hit = await resolveSplit(resolveDeps, key, 'customer-1');

    expect(hit).toMatchObject({ found: true, cache: 'hit', sticky: true, splitRevision: 1 });
    expect([cache.reads - reads, splits.loads - loads]).toEqual([1, 0]);
  });

  it('gives the same key the same version on every call, and chooses by weight without a key', async () => {
    const { resolveDeps, changeDeps } = setup();
    await putSplit(changeDeps, key, { v2: 90, v3: 10 }, ctx);
    const first = await resolveSplit(resolveDeps, key, 'customer-7');
    for (let i = 0; i < 5; i++) {
      expect(await resolveSplit(resolveDeps, key, 'customer-7')).toMatchObject({
        found: true,
        version: first.found ? first.version : '',
      });
    }
    // random() = 0.95 → bucket 9500 → v3's range [9000, 10000).
    expect(await resolveSplit(resolveDeps, key, undefined)).toMatchObject({
      found: true,
      version: 'v3',
      url: URLS.v3,
      slot: 1,
      sticky: false,
    });
  });

  it('is not found without a split, and caches that negatively', async () => {
    const { resolveDeps, splits } = setup();
    expect(await resolveSplit(resolveDeps, key, 'k')).toEqual({ found: false, cache: 'miss' });
    expect(await resolveSplit(resolveDeps, key, 'k')).toEqual({ found: false, cache: 'negative_hit' });
    expect(splits.loads).toBe(1);
  });

  it("lets the writer read its own write at once: the write's tombstone outranks the cached split", async () => {
    const { resolveDeps, changeDeps } = setup();
    await putSplit(changeDeps, key, { v2: 100 }, ctx);
    expect(await resolveSplit(resolveDeps, key, 'k')).toMatchObject({ version: 'v2', splitRevision: 1 });

    await putSplit(changeDeps, key, { v3: 100 }, ctx);

    expect(await resolveSplit(resolveDeps, key, 'k')).toMatchObject({
      version: 'v3',
      splitRevision: 2,
      cache: 'miss',
    });
  });

  it('never refills the cache with a split older than the tombstone a write left (no stale refill)', async () => {
    const { resolveDeps, changeDeps, cache, splits } = setup();
    await putSplit(changeDeps, key, { v2: 100 }, ctx);
    const stale = await splits.loadSplitState(); // a reader loaded cache revision 1 …
    await putSplit(changeDeps, key, { v3: 100 }, ctx); // … the write of revision 2 commits and tombstones

    const { splitEntryOf } = await import('#shared/domain/split-cache-entry');
    expect(await cache.putIfNewer(splitCacheKeyOf(key), splitEntryOf(stale), 60_000)).toBe(false);
    expect(await resolveSplit(resolveDeps, key, 'k')).toMatchObject({ version: 'v3' });
  });

  it('after a delete answers not found, even for a reader that had the split cached', async () => {
    const { resolveDeps, changeDeps } = setup();
    await putSplit(changeDeps, key, { v2: 100 }, ctx);
    await resolveSplit(resolveDeps, key, 'k');

    await deleteSplit(changeDeps, key, ctx);

    expect(await resolveSplit(resolveDeps, key, 'k')).toEqual({ found: false, cache: 'miss' });
    await expect(deleteSplit(changeDeps, key, ctx)).rejects.toBeInstanceOf(SplitNotFoundError);
  });
});

describe('the invalidation consumer and split_changed events', () => {
  it("tombstones the split at the event's cache revision (a stale entry then misses)", async () => {
    const { resolveDeps, cache, splits } = setup();
    // Another container's write: this cache never saw its tombstone.
    const other = { ...setup().changeDeps, splits, cache: null };
    await putSplit(other, key, { v2: 100 }, ctx);
    await resolveSplit(resolveDeps, key, 'k'); // cached at cache revision 1
    const result = await putSplit(other, key, { v3: 100 }, ctx);

    expect(await invalidateCache({ cache, tombstoneTtlMs: 60_000 }, [result.event!])).toEqual({
      routes: 1,
      stored: 1,
    });
    expect(await resolveSplit(resolveDeps, key, 'k')).toMatchObject({ version: 'v3', cache: 'miss' });
  });
});
