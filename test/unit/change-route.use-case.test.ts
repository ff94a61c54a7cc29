import { describe, expect, it } from 'vitest';
import { MemoryRouteCache } from '#shared/adapters/cache/route-cache.memory';
import { cacheKeyOf } from '#shared/domain/cache-entry';
import { DependencyUnavailableError, RouteNotFoundError } from '#shared/domain/errors';
import type { RouteKey, RouteWriteResult } from '#shared/domain/route';
import { splitCacheKeyOf, splitEntryOf } from '#shared/domain/split-cache-entry';
import type { RouteCache } from '#shared/ports/route-cache.port';
import {
  type ChangeRouteDeps,
  rollbackRoute,
  setRouteActive,
  upsertRoute,
} from '#shared/use-cases/change-route.use-case';
import { InMemoryRouteRepository } from '#test/support/fakes';
import { uniqueRouteKey } from '#test/support/fixtures';

const ctx = { changedBy: 'alice', correlationId: 'c-1' };

/** A cache tier that is down: every write fails as the guarded adapter reports it. */
const down: RouteCache = {
  name: 'down',
  get: async () => null,
  putIfNewer: async () => {
    throw new DependencyUnavailableError('cache', 'down');
  },
  ping: async () => {},
};

const setup = (cache: RouteCache = new MemoryRouteCache()) => {
  const repository = new InMemoryRouteRepository();
  const committed: RouteWriteResult[] = [];
  const cacheErrors: unknown[] = [];
  const deps: ChangeRouteDeps = {
    repository,
    cache,
    tombstoneTtlMs: 66_000,
    afterCommit: (r) => committed.push(r),
    onCacheError: (e) => cacheErrors.push(e),
  };
  return { repository, deps, committed, cacheErrors };
};

describe('upsertRoute', () => {
  it('creates a new route, leaves a tombstone at its revision and hands the event on', async () => {
    const cache = new MemoryRouteCache();
    const { deps, committed } = setup(cache);
    const key = uniqueRouteKey();
    await cache.putIfNewer(cacheKeyOf(key), { kind: 'absent', revision: 0 }, 10_000);

    const result = await upsertRoute(deps, key, 'https://a.example.com', ctx);

    expect(result.outcome).toBe('created');
    expect(result.event).toMatchObject({
      action: 'created',
      revision: 1,
      changedBy: 'alice',
      correlationId: 'c-1',
    });
    expect(cache.peek(cacheKeyOf(key))).toEqual({ kind: 'tombstone', revision: 1 });
    expect(committed).toHaveLength(1);
  });

  it('reports a repeat with the same URL as unchanged, with no event and no invalidation', async () => {
    const cache = new MemoryRouteCache();
    const { deps, committed } = setup(cache);
    const key = uniqueRouteKey();
    await upsertRoute(deps, key, 'https://a.example.com', ctx);
    await cache.putIfNewer(
      cacheKeyOf(key),
      { kind: 'active', revision: 1, url: 'https://a.example.com' },
      60_000,
    );

    const again = await upsertRoute(deps, key, 'https://a.example.com', ctx);

    expect(again).toMatchObject({ outcome: 'unchanged', event: null });
    expect(committed).toHaveLength(1);
    expect(cache.peek(cacheKeyOf(key))).toMatchObject({ kind: 'active' });
  });

  it('updates the URL and records the previous one', async () => {
    const { deps } = setup();
    const key = uniqueRouteKey();
    await upsertRoute(deps, key, 'https://a.example.com', ctx);
    const result = await upsertRoute(deps, key, 'https://b.example.com', ctx);
    expect(result.event).toMatchObject({
      action: 'updated',
      previousUrl: 'https://a.example.com',
      previousState: 'active',
      revision: 2,
    });
  });

  it('answers before the publish ends when told to publish in the background, tombstone already written', async () => {
    const cache = new MemoryRouteCache();
    const { deps } = setup(cache);
    let release!: () => void;
    const publishing = new Promise<void>((r) => {
      release = r;
    });
    let published = false;
    const background: ChangeRouteDeps = {
      ...deps,
      afterCommitInBackground: true,
      afterCommit: async () => {
        await publishing;
        published = true;
      },
    };
    const key = uniqueRouteKey();

    const result = await upsertRoute(background, key, 'https://a.example.com', ctx);

    expect(result.outcome).toBe('created');
    expect(published).toBe(false); // answered while the publish still waits for the broker
    expect(cache.peek(cacheKeyOf(key))).toEqual({ kind: 'tombstone', revision: 1 }); // read-your-write kept
    release();
    await publishing;
    await new Promise((r) => setImmediate(r));
    expect(published).toBe(true);
  });

  it('publishes while the tombstone is written, and answers only when both have ended', async () => {
    const inner = new MemoryRouteCache();
    let releaseTombstone!: () => void;
    const tombstoneHeld = new Promise<void>((r) => {
      releaseTombstone = r;
    });
    // A cache whose write waits until the test lets it go.
    const slow: RouteCache = {
      name: 'slow',
      get: (k) => inner.get(k),
      ping: () => inner.ping(),
      putIfNewer: async (k, e, ttl) => {
        await tombstoneHeld;
        return inner.putIfNewer(k, e, ttl);
      },
    };
    let publishStarted = false;
    const { deps } = setup(slow);
    const key = uniqueRouteKey();
    let answered = false;

    const writing = upsertRoute(
      { ...deps, afterCommit: () => (publishStarted = true) },
      key,
      'https://a.example.com',
      ctx,
    ).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setImmediate(r));

    expect(publishStarted).toBe(true); // not waiting behind the cache
    expect(answered).toBe(false); // read-your-write: not before the tombstone
    releaseTombstone();
    expect((await writing).outcome).toBe('created');
    expect(inner.peek(cacheKeyOf(key))).toEqual({ kind: 'tombstone', revision: 1 });
  });

  it('succeeds when the cache is down, reporting the cache failure', async () => {
    const { deps, cacheErrors } = setup(down);
    expect((await upsertRoute(deps, uniqueRouteKey(), 'https://a.example.com', ctx)).outcome).toBe('created');
    expect(cacheErrors).toHaveLength(1);
  });
});

describe('setRouteActive', () => {
  it('rejects a missing route with RouteNotFoundError', async () => {
    const { deps } = setup();
    await expect(setRouteActive(deps, uniqueRouteKey(), true, ctx)).rejects.toBeInstanceOf(
      RouteNotFoundError,
    );
  });

  it('deactivates, records the previous state, and treats a repeat as unchanged', async () => {
    const { deps, committed } = setup();
    const key = uniqueRouteKey();
    await upsertRoute(deps, key, 'https://a.example.com', ctx);
    const off = await setRouteActive(deps, key, false, ctx);
    expect(off.event).toMatchObject({ action: 'deactivated', previousState: 'active', revision: 2 });
    expect((await setRouteActive(deps, key, false, ctx)).outcome).toBe('unchanged');
    expect(committed.map((r) => r.outcome)).toEqual(['created', 'deactivated']);
  });
});

describe('the acting token (issue 16.2)', () => {
  it('hands the token id beside the principal to every write, rollback included', async () => {
    const { deps, committed } = setup();
    const key = uniqueRouteKey();
    const byToken = { ...ctx, changedByTokenId: 'abcdefghijklmnop' };

    await upsertRoute(deps, key, 'https://a.example.com', byToken);
    await setRouteActive(deps, key, false, byToken);
    await rollbackRoute(deps, key, null, byToken);

    expect(committed.map((r) => [r.event?.action, r.event?.changedBy, r.event?.changedByTokenId])).toEqual([
      ['created', 'alice', 'abcdefghijklmnop'],
      ['deactivated', 'alice', 'abcdefghijklmnop'],
      ['rolled_back', 'alice', 'abcdefghijklmnop'],
    ]);
  });
});

describe("the split's cached entry (issue 14)", () => {
  /** A route whose version a split names, the split cached at its cache revision 3. */
  const splitFixture = async () => {
    const cache = new MemoryRouteCache();
    const { repository, deps, cacheErrors } = setup(cache);
    const key = uniqueRouteKey();
    await upsertRoute(deps, key, 'https://a.example.com', ctx);
    repository.splits.set(`${key.tenant}/${key.service}/${key.env}`, { versions: ['v2'], cacheRevision: 3 });
    const cached = splitEntryOf({
      cacheRevision: 3,
      split: { revision: 1, targets: [{ version: 'v2', weight: 100, url: 'https://a.example.com' }] },
    });
    await cache.putIfNewer(splitCacheKeyOf(key), cached, 60_000);
    return { cache, deps, key, cached, cacheErrors };
  };

  it("tombstones the split's entry at the cache revision a URL change gave it: no stale refill", async () => {
    const { cache, deps, key, cached } = await splitFixture();

    const result = await upsertRoute(deps, key, 'https://b.example.com', ctx);

    expect(result).toMatchObject({ outcome: 'updated', splitCacheRevision: 4 });
    expect(cache.peek(splitCacheKeyOf(key))).toEqual({ kind: 'tombstone', revision: 4 });
    expect(cache.peek(cacheKeyOf(key))).toEqual({ kind: 'tombstone', revision: 2 });
    // A resolve that loaded the split before the write cannot put it back.
    expect(await cache.putIfNewer(splitCacheKeyOf(key), cached, 60_000)).toBe(false);
  });

  it('does the same for a rollback that moves the URL back', async () => {
    const { cache, deps, key } = await splitFixture();
    await upsertRoute(deps, key, 'https://b.example.com', ctx);

    const result = await rollbackRoute(deps, key, null, ctx);

    expect(result).toMatchObject({ outcome: 'rolled_back', splitCacheRevision: 5 });
    expect(cache.peek(splitCacheKeyOf(key))).toEqual({ kind: 'tombstone', revision: 5 });
  });

  it('leaves the entry alone when no URL it carries moved', async () => {
    const { cache, deps, key, cached } = await splitFixture();
    const other: RouteKey = { ...key, version: 'v9' }; // not in the split

    await upsertRoute(deps, other, 'https://c.example.com', ctx); // created
    await upsertRoute(deps, other, 'https://d.example.com', ctx); // updated
    await upsertRoute(deps, key, 'https://a.example.com', ctx); // unchanged
    await setRouteActive(deps, other, false, ctx);

    expect(cache.peek(splitCacheKeyOf(key))).toEqual(cached);
  });

  it('succeeds when the cache is down, reporting both failed tombstones', async () => {
    const { deps, key, cacheErrors } = await splitFixture();

    const result = await upsertRoute({ ...deps, cache: down }, key, 'https://b.example.com', ctx);

    expect(result.outcome).toBe('updated');
    expect(cacheErrors).toHaveLength(2);
  });
});
