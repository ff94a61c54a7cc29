import { describe, expect, it } from 'vitest';
import { MemoryRouteCache } from '#shared/adapters/cache/route-cache.memory';
import { cacheKeyOf } from '#shared/domain/cache-entry';
import { DependencyUnavailableError } from '#shared/domain/errors';
import { invalidateCache } from '#shared/use-cases/invalidate-cache.use-case';
import { recordAudit } from '#shared/use-cases/record-audit.use-case';
import { warmCache } from '#shared/use-cases/warm-cache.use-case';
import { InMemoryRouteRepository } from '#test/support/fakes';
import { uniqueRouteKey } from '#test/support/fixtures';
import { InMemoryAuditStore, routeEvent } from './event-fakes.ts';

const policy = { positiveTtlMs: 60_000, negativeTtlMs: 10_000, jitterRatio: 0 };

describe('invalidateCache', () => {
  it('tombstones each route at its newest revision in the batch', async () => {
    const cache = new MemoryRouteCache();
    const key = uniqueRouteKey();
    await cache.putIfNewer(cacheKeyOf(key), { kind: 'active', revision: 1, url: 'https://a' }, 60_000);

    const result = await invalidateCache({ cache, tombstoneTtlMs: 66_000 }, [
      routeEvent({ revision: 3 }, key),
      routeEvent({ revision: 2 }, key),
    ]);

    expect(result).toEqual({ routes: 1, stored: 1 });
    expect(cache.peek(cacheKeyOf(key))).toEqual({ kind: 'tombstone', revision: 3 });
  });

  it('never lets an older revision replace a newer entry (late or redelivered events)', async () => {
    const cache = new MemoryRouteCache();
    const key = uniqueRouteKey();
    await cache.putIfNewer(cacheKeyOf(key), { kind: 'active', revision: 5, url: 'https://new' }, 60_000);

    const result = await invalidateCache({ cache, tombstoneTtlMs: 66_000 }, [
      routeEvent({ revision: 4 }, key),
    ]);

    expect(result.stored).toBe(0);
    expect(cache.peek(cacheKeyOf(key))).toEqual({ kind: 'active', revision: 5, url: 'https://new' });
  });

  it('fails the batch when the cache is unavailable, so it is retried', async () => {
    const cache = new MemoryRouteCache();
    cache.putIfNewer = () => Promise.reject(new DependencyUnavailableError('cache', 'down'));

    await expect(invalidateCache({ cache, tombstoneTtlMs: 1 }, [routeEvent()])).rejects.toBeInstanceOf(
      DependencyUnavailableError,
    );
  });
});

describe('warmCache', () => {
  it('caches the state the event describes at its revision, without reading Postgres', async () => {
    const repository = new InMemoryRouteRepository();
    const cache = new MemoryRouteCache();
    const created = uniqueRouteKey();
    const updatedWhileInactive = uniqueRouteKey();

    const result = await warmCache({ repository, cache, policy }, [
      routeEvent({ revision: 1, url: 'https://v1' }, created),
      routeEvent(
        {
          action: 'updated',
          revision: 5,
          url: 'https://v5',
          previousUrl: 'https://v4',
          previousState: 'inactive',
        },
        updatedWhileInactive,
      ),
    ]);

    expect(result).toEqual({ routes: 2, stored: 2, reread: 0 });
    expect(repository.findCalls).toBe(0);
    expect(cache.peek(cacheKeyOf(created))).toEqual({ kind: 'active', revision: 1, url: 'https://v1' });
    expect(cache.peek(cacheKeyOf(updatedWhileInactive))).toEqual({ kind: 'inactive', revision: 5 });
  });

  it("never puts an older event's state over a newer entry (the writer's tombstone, a later event)", async () => {
    const cache = new MemoryRouteCache();
    const key = uniqueRouteKey();
    await cache.putIfNewer(cacheKeyOf(key), { kind: 'tombstone', revision: 2 }, 66_000);

    const result = await warmCache({ repository: new InMemoryRouteRepository(), cache, policy }, [
      routeEvent({ revision: 1, url: 'https://v1' }, key),
    ]);

    expect(result.stored).toBe(0);
    expect(cache.peek(cacheKeyOf(key))).toEqual({ kind: 'tombstone', revision: 2 });
  });

  it('caches a deactivated route as a negative entry at its revision', async () => {
    const cache = new MemoryRouteCache();
    const key = uniqueRouteKey();

    await warmCache({ repository: new InMemoryRouteRepository(), cache, policy }, [
      routeEvent({ revision: 2, action: 'deactivated', previousState: 'active' }, key),
    ]);

    expect(cache.peek(cacheKeyOf(key))).toEqual({ kind: 'inactive', revision: 2 });
  });

  it('re-reads a rolled-back route from Postgres (the event does not carry the restored state)', async () => {
    const repository = new InMemoryRouteRepository();
    const cache = new MemoryRouteCache();
    const key = uniqueRouteKey();
    const ctx = { changedBy: 'a', correlationId: null };
    await repository.upsertRoute(key, 'https://v1', ctx);
    await repository.setRouteActive(key, false, ctx);
    await repository.rollbackRoute(key, null, ctx);

    const result = await warmCache({ repository, cache, policy }, [
      routeEvent({ action: 'rolled_back', revision: 3, url: 'https://v1', restoredRevision: 1 }, key),
    ]);

    expect(result).toEqual({ routes: 1, stored: 1, reread: 1 });
    expect(cache.peek(cacheKeyOf(key))).toEqual({ kind: 'active', revision: 3, url: 'https://v1' });
  });

  it('re-reads at most `concurrency` routes at once (rollbacks), and warms them all', async () => {
    const repository = new InMemoryRouteRepository();
    const ctx = { changedBy: 'a', correlationId: null };
    const keys = Array.from({ length: 23 }, () => uniqueRouteKey());
    for (const key of keys) await repository.upsertRoute(key, 'https://v1', ctx);
    let inFlight = 0;
    let most = 0;
    const slow = Object.assign(Object.create(repository), {
      findRoute: async (key: (typeof keys)[number]) => {
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 1));
        inFlight--;
        return repository.findRoute(key);
      },
    });

    const result = await warmCache(
      { repository: slow, cache: new MemoryRouteCache(), policy, concurrency: 5 },
      keys.map((key) => routeEvent({ action: 'rolled_back', revision: 1 }, key)),
    );

    expect(result).toEqual({ routes: 23, stored: 23, reread: 23 });
    expect(most).toBe(5);
  });

  it('reads each route once per batch', async () => {
    const repository = new InMemoryRouteRepository();
    const key = uniqueRouteKey();
    await repository.upsertRoute(key, 'https://v1', { changedBy: 'a', correlationId: null });

    await warmCache({ repository, cache: new MemoryRouteCache(), policy }, [
      routeEvent({ action: 'rolled_back', revision: 1 }, key),
      routeEvent({ action: 'rolled_back', revision: 1 }, key),
    ]);

    expect(repository.findCalls).toBe(1);
  });

  it('fails the batch when Postgres is unavailable, so it is retried', async () => {
    const repository = new InMemoryRouteRepository();
    repository.failWith = new DependencyUnavailableError('database', 'down');

    await expect(
      warmCache({ repository, cache: new MemoryRouteCache(), policy }, [
        routeEvent({ action: 'rolled_back' }),
      ]),
    ).rejects.toBeInstanceOf(DependencyUnavailableError);
  });
});

describe('recordAudit', () => {
  const now = new Date('2026-02-01T00:00:00Z');

  it('writes one document per event with previous values, revision, correlation id and source', async () => {
    const store = new InMemoryAuditStore();
    const event = routeEvent({
      action: 'updated',
      previousUrl: 'https://old',
      previousState: 'inactive',
      revision: 4,
    });

    await recordAudit({ store, now: () => now }, [{ event, topic: 'route-events', partition: 2, offset: 7 }]);

    expect(store.records.get(event.eventId)).toEqual({
      eventId: event.eventId,
      eventType: 'route_changed',
      action: 'updated',
      route: { tenant: event.tenant, service: event.service, env: event.env, version: event.version },
      url: event.url,
      previousUrl: 'https://old',
      previousState: 'inactive',
      revision: 4,
      restoredRevision: null,
      changedBy: 'alice',
      changedByTokenId: null,
      correlationId: event.correlationId,
      occurredAt: new Date(event.occurredAt),
      processedAt: now,
      metadata: { source: { topic: 'route-events', partition: 2, offset: 7 } },
    });
  });

  it("records the acting token's id beside the principal (issue 16.2)", async () => {
    const store = new InMemoryAuditStore();
    const event = routeEvent({ changedByTokenId: 'abcdefghijklmnop' });

    await recordAudit({ store, now: () => now }, [{ event }]);

    expect(store.records.get(event.eventId)).toMatchObject({
      changedBy: 'alice',
      changedByTokenId: 'abcdefghijklmnop',
    });
  });

  it('treats a redelivered event as already recorded', async () => {
    const store = new InMemoryAuditStore();
    const event = routeEvent();
    await recordAudit({ store, now: () => now }, [{ event }]);

    const again = await recordAudit({ store, now: () => now }, [{ event }, { event: routeEvent() }]);

    expect(again).toEqual({ inserted: 1, duplicates: 1 });
    expect(store.records.size).toBe(2);
  });
});
