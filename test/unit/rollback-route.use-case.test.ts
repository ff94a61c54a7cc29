import { describe, expect, it } from 'vitest';
import { MemoryRouteCache } from '#shared/adapters/cache/route-cache.memory';
import { cacheKeyOf } from '#shared/domain/cache-entry';
import { NothingToRollBackError, PreconditionFailedError, RouteNotFoundError } from '#shared/domain/errors';
import type { RouteWriteResult } from '#shared/domain/route';
import {
  type ChangeRouteDeps,
  rollbackRoute,
  setRouteActive,
  upsertRoute,
} from '#shared/use-cases/change-route.use-case';
import { getRouteDetail, listRoutes } from '#shared/use-cases/query-routes.use-case';
import { InMemoryRouteRepository } from '#test/support/fakes';
import { uniqueRouteKey } from '#test/support/fixtures';

const ctx = { changedBy: 'alice', correlationId: 'c-1' };

const setup = () => {
  const cache = new MemoryRouteCache();
  const repository = new InMemoryRouteRepository();
  const committed: RouteWriteResult[] = [];
  const deps: ChangeRouteDeps = {
    repository,
    cache,
    tombstoneTtlMs: 66_000,
    afterCommit: (r) => committed.push(r),
  };
  return { cache, repository, deps, committed };
};

describe('rollbackRoute', () => {
  it('restores the state before the latest change as a new revision, tombstones it and hands on its event', async () => {
    const { cache, deps, committed } = setup();
    const key = uniqueRouteKey();
    await upsertRoute(deps, key, 'https://a.example.com', ctx);
    await upsertRoute(deps, key, 'https://b.example.com', ctx);

    const result = await rollbackRoute(deps, key, null, ctx);

    expect(result).toMatchObject({
      outcome: 'rolled_back',
      route: { url: 'https://a.example.com', isActive: true, revision: 3 },
      event: {
        action: 'rolled_back',
        previousUrl: 'https://b.example.com',
        previousState: 'active',
        restoredRevision: 1,
        revision: 3,
      },
    });
    expect(cache.peek(cacheKeyOf(key))).toEqual({ kind: 'tombstone', revision: 3 });
    expect(committed.at(-1)).toBe(result);
  });

  it('restores the URL and active state of a named revision', async () => {
    const { deps } = setup();
    const key = uniqueRouteKey();
    await upsertRoute(deps, key, 'https://a.example.com', ctx); // 1
    await setRouteActive(deps, key, false, ctx); // 2
    await upsertRoute(deps, key, 'https://b.example.com', ctx); // 3: b, inactive

    const result = await rollbackRoute(deps, key, 1, ctx);

    expect(result.route).toMatchObject({ url: 'https://a.example.com', isActive: true, revision: 4 });
    expect(result.event).toMatchObject({ restoredRevision: 1, previousState: 'inactive' });
  });

  it('is unchanged, with no event, when the state to restore is the current one', async () => {
    const { deps, committed } = setup();
    const key = uniqueRouteKey();
    await upsertRoute(deps, key, 'https://a.example.com', ctx);
    await upsertRoute(deps, key, 'https://b.example.com', ctx);
    await upsertRoute(deps, key, 'https://a.example.com', ctx);
    const before = committed.length;

    expect(await rollbackRoute(deps, key, 1, ctx)).toMatchObject({ outcome: 'unchanged', event: null });
    expect(committed).toHaveLength(before);
  });

  it('refuses a missing route (404) and a route with nothing before it or a revision not before now (409)', async () => {
    const { deps } = setup();
    const key = uniqueRouteKey();
    await expect(rollbackRoute(deps, key, null, ctx)).rejects.toBeInstanceOf(RouteNotFoundError);
    await upsertRoute(deps, key, 'https://a.example.com', ctx);
    await expect(rollbackRoute(deps, key, null, ctx)).rejects.toBeInstanceOf(NothingToRollBackError);
    await upsertRoute(deps, key, 'https://b.example.com', ctx);
    await expect(rollbackRoute(deps, key, 2, ctx)).rejects.toMatchObject({ status: 409, currentRevision: 2 });
    await expect(rollbackRoute(deps, key, 9, ctx)).rejects.toBeInstanceOf(NothingToRollBackError);
  });

  it('honours If-Match: a stale revision fails with the current one and changes nothing', async () => {
    const { deps, repository } = setup();
    const key = uniqueRouteKey();
    await upsertRoute(deps, key, 'https://a.example.com', ctx);
    await upsertRoute(deps, key, 'https://b.example.com', ctx);
    const stale = { ...ctx, precondition: { kind: 'revision' as const, revisions: [1] } };

    await expect(rollbackRoute(deps, key, null, stale)).rejects.toMatchObject({
      status: 412,
      code: 'precondition_failed',
      currentRevision: 2,
    });
    expect((await repository.findRoute(key))?.revision).toBe(2);
  });
});

describe('conditional writes', () => {
  it('creates only when the route is absent (If-None-Match: *)', async () => {
    const { deps } = setup();
    const key = uniqueRouteKey();
    const createOnly = { ...ctx, precondition: { kind: 'absent' as const } };
    expect((await upsertRoute(deps, key, 'https://a.example.com', createOnly)).outcome).toBe('created');
    await expect(upsertRoute(deps, key, 'https://b.example.com', createOnly)).rejects.toBeInstanceOf(
      PreconditionFailedError,
    );
  });

  it('writes when If-Match names the current revision, and answers 412 otherwise', async () => {
    const { deps } = setup();
    const key = uniqueRouteKey();
    const at = (r: number) => ({ ...ctx, precondition: { kind: 'revision' as const, revisions: [r] } });
    await expect(upsertRoute(deps, key, 'https://a.example.com', at(1))).rejects.toMatchObject({
      currentRevision: null,
    });
    await upsertRoute(deps, key, 'https://a.example.com', ctx);
    expect((await setRouteActive(deps, key, false, at(1))).outcome).toBe('deactivated');
    await expect(setRouteActive(deps, key, true, at(1))).rejects.toMatchObject({ currentRevision: 2 });
  });
});

describe('route queries', () => {
  it("lists a tenant's routes in service, env, version order, filtered and paged", async () => {
    const { deps } = setup();
    const { tenant } = uniqueRouteKey();
    for (const [service, version] of [
      ['b', 'v1'],
      ['a', 'v2'],
      ['a', 'v1'],
    ] as const) {
      await upsertRoute(
        deps,
        { tenant, service, env: 'prod', version },
        `https://${service}.example.com`,
        ctx,
      );
    }
    await setRouteActive(deps, { tenant, service: 'a', env: 'prod', version: 'v2' }, false, ctx);

    const first = await listRoutes(deps, { tenant, limit: 2 });
    expect(first.routes.map((r) => `${r.service}/${r.version}`)).toEqual(['a/v1', 'a/v2']);
    expect(first.next).toEqual({ service: 'a', env: 'prod', version: 'v2' });
    const second = await listRoutes(deps, { tenant, limit: 2, after: first.next! });
    expect(second).toEqual({ routes: [expect.objectContaining({ service: 'b' })], next: null });
    expect((await listRoutes(deps, { tenant, limit: 10, active: false })).routes).toHaveLength(1);
    expect((await listRoutes(deps, { tenant, limit: 10, service: 'b' })).routes).toHaveLength(1);
  });

  it('reads one route, active or not, and refuses a missing one', async () => {
    const { deps } = setup();
    const key = uniqueRouteKey();
    await expect(getRouteDetail(deps, key)).rejects.toBeInstanceOf(RouteNotFoundError);
    await upsertRoute(deps, key, 'https://a.example.com', ctx);
    await setRouteActive(deps, key, false, ctx);
    expect(await getRouteDetail(deps, key)).toMatchObject({ isActive: false, revision: 2 });
  });
});
