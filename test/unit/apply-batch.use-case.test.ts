import { describe, expect, it } from 'vitest';
import { MemoryRouteCache } from '#shared/adapters/cache/route-cache.memory';
import { cacheKeyOf } from '#shared/domain/cache-entry';
import { BatchRejectedError } from '#shared/domain/errors';
import type { RouteWriteResult, WriteContext } from '#shared/domain/route';
import type { BatchApplied, BatchOperation } from '#shared/domain/route-batch';
import { splitCacheKeyOf } from '#shared/domain/split-cache-entry';
import type { RouteBatchWriter } from '#shared/ports/route-batch.port';
import { type ApplyBatchDeps, applyBatch, duplicateRoutes } from '#shared/use-cases/apply-batch.use-case';
import { InMemoryRouteRepository } from '#test/support/fakes';
import { uniqueRouteKey } from '#test/support/fixtures';

const ctx = { changedBy: 'alice', correlationId: 'c-1' };

/**
 * The batch writer over the in-memory repository: every operation applied in order, or none when some
 * route is missing (a copy is worked on and kept only when all succeed, as a transaction would).
 */
class InMemoryBatchWriter implements RouteBatchWriter {
  calls: { ops: readonly BatchOperation[]; ctx: WriteContext & { batchId: string } }[] = [];
  constructor(private repository: InMemoryRouteRepository) {}
  async applyBatch(
    ops: readonly BatchOperation[],
    c: WriteContext & { batchId: string },
  ): Promise<BatchApplied> {
    this.calls.push({ ops, ctx: c });
    const missing: number[] = [];
    for (const [i, op] of ops.entries()) {
      if (op.op !== 'create' && !(await this.repository.findRoute(op.key))) missing.push(i);
    }
    if (missing.length > 0) return { applied: false, missing };
    const results: RouteWriteResult[] = [];
    for (const op of ops) {
      const r =
        op.op === 'create'
          ? await this.repository.upsertRoute(op.key, op.url, c)
          : await this.repository.setRouteActive(op.key, op.op === 'activate', c);
      results.push({
        ...r!,
        event: r!.event ? { ...r!.event, batchId: c.batchId } : null,
        publishLeased: true,
      });
    }
    return { applied: true, results };
  }
}

const setup = () => {
  const repository = new InMemoryRouteRepository();
  const writer = new InMemoryBatchWriter(repository);
  const cache = new MemoryRouteCache();
  const published: (readonly RouteWriteResult[])[] = [];
  const deps: ApplyBatchDeps = {
    writer,
    cache,
    tombstoneTtlMs: 66_000,
    newBatchId: () => '00000000-0000-4000-8000-000000000001',
    publishLeaseMs: 3000,
    afterCommitAll: (rs) => published.push(rs),
  };
  return { repository, writer, cache, published, deps };
};

describe('applyBatch', () => {
  it('applies the operations in order, tombstones each changed route and publishes the changes together', async () => {
    const { deps, cache, published, writer } = setup();
    const a = uniqueRouteKey();
    const b = uniqueRouteKey();
    await cache.putIfNewer(cacheKeyOf(a), { kind: 'absent', revision: 0 }, 10_000);

    const { batchId, results } = await applyBatch(
      deps,
      [
        { op: 'create', key: a, url: 'https://a.example.com' },
        { op: 'create', key: b, url: 'https://b.example.com' },
      ],
      ctx,
    );

    expect(batchId).toBe('00000000-0000-4000-8000-000000000001');
    expect(writer.calls[0]!.ctx).toMatchObject({ batchId, publishLeaseMs: 3000, changedBy: 'alice' });
    expect(results.map((r) => [r.outcome, r.route.tenant])).toEqual([
      ['created', a.tenant],
      ['created', b.tenant],
    ]);
    expect(cache.peek(cacheKeyOf(a))).toEqual({ kind: 'tombstone', revision: 1 });
    expect(published).toHaveLength(1);
    expect(published[0]!.map((r) => r.event?.batchId)).toEqual([batchId, batchId]);
  });

  it('publishes and tombstones only the changes, and answers the no-ops too', async () => {
    const { deps, published } = setup();
    const a = uniqueRouteKey();
    await applyBatch(deps, [{ op: 'create', key: a, url: 'https://a.example.com' }], ctx);
    const { results } = await applyBatch(deps, [{ op: 'activate', key: a }], ctx);
    expect(results[0]!.outcome).toBe('unchanged');
    expect(published).toHaveLength(1); // the first batch only
  });

  it("tombstones a split whose versions' URLs moved once, at the newest cache revision the batch gave it", async () => {
    const { deps, cache, repository } = setup();
    const v2 = uniqueRouteKey();
    const [v3, v4] = [
      { ...v2, version: 'v3' },
      { ...v2, version: 'v4' },
    ];
    const create = (url: string) =>
      [v2, v3, v4].map((key) => ({ op: 'create' as const, key, url: `${url}${key.version}` }));
    await applyBatch(deps, create('https://old.example.com/'), ctx);
    repository.splits.set(`${v2.tenant}/${v2.service}/${v2.env}`, {
      versions: ['v2', 'v3'],
      cacheRevision: 7,
    });
    const stored: string[] = [];
    const counting = Object.assign(Object.create(cache), {
      putIfNewer: (...args: Parameters<typeof cache.putIfNewer>) => {
        stored.push(args[0]);
        return cache.putIfNewer(...args);
      },
    });

    const { results } = await applyBatch(
      { ...deps, cache: counting },
      create('https://new.example.com/'),
      ctx,
    );

    expect(results.map((r) => [r.outcome, r.splitCacheRevision])).toEqual([
      ['updated', 8],
      ['updated', 9],
      ['updated', undefined],
    ]);
    expect(cache.peek(splitCacheKeyOf(v2))).toEqual({ kind: 'tombstone', revision: 9 });
    expect(stored.filter((k) => k === splitCacheKeyOf(v2))).toHaveLength(1);
    expect(stored.filter((k) => k !== splitCacheKeyOf(v2))).toHaveLength(3); // each route's own
  });

  it('names every missing route (404) and applies nothing', async () => {
    const { deps, repository, published } = setup();
    const a = uniqueRouteKey();
    const b = uniqueRouteKey();
    const attempt = applyBatch(
      deps,
      [
        { op: 'create', key: a, url: 'https://a.example.com' },
        { op: 'deactivate', key: b },
        { op: 'activate', key: { ...b, version: 'v9' } },
      ],
      ctx,
    );
    await expect(attempt).rejects.toBeInstanceOf(BatchRejectedError);
    const err = (await attempt.catch((e: unknown) => e)) as BatchRejectedError;
    expect(err.status).toBe(404);
    expect(err.failures.map((f) => [f.index, f.error])).toEqual([
      [1, 'route_not_found'],
      [2, 'route_not_found'],
    ]);
    expect(await repository.findRoute(a)).toBeNull();
    expect(published).toHaveLength(0);
  });

  it('refuses a route named twice (409) before touching the store', async () => {
    const { deps, writer } = setup();
    const a = uniqueRouteKey();
    const attempt = applyBatch(
      deps,
      [
        { op: 'create', key: a, url: 'https://a.example.com' },
        { op: 'deactivate', key: a },
      ],
      ctx,
    );
    await expect(attempt).rejects.toMatchObject({
      status: 409,
      code: 'batch_conflict',
      failures: [{ index: 1, error: 'duplicate_route' }],
    });
    expect(writer.calls).toHaveLength(0);
  });
});

describe('duplicateRoutes', () => {
  it('names each later operation on an already named route, with the earlier index', () => {
    const a = uniqueRouteKey();
    const ops: BatchOperation[] = [
      { op: 'create', key: a, url: 'https://a.example.com' },
      { op: 'create', key: { ...a, version: 'v3' }, url: 'https://a.example.com' },
      { op: 'activate', key: a },
      { op: 'deactivate', key: a },
    ];
    expect(duplicateRoutes(ops).map((f) => [f.index, f.message.includes('operations[0]')])).toEqual([
      [2, true],
      [3, true],
    ]);
  });
});
