import { randomUUID } from 'node:crypto';
import type { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as batch } from '#functions/routes/batch-routes.handler';
import { handler as resolve } from '#functions/routes/resolve-route.handler';
import { handler as setState } from '#functions/routes/set-route-state.handler';
import { handler as upsert } from '#functions/routes/upsert-route.handler';
import { handler as changeSplit } from '#functions/splits/change-split.handler';
import { handler as splitQuery } from '#functions/splits/split-query.handler';
import { createRedisClient, RedisRouteCache } from '#shared/adapters/cache/route-cache.redis';
import { MongoAuditStore } from '#shared/adapters/mongo/audit-store.mongo';
import { createMongoClient } from '#shared/adapters/mongo/mongo-client.mongo';
import { PgRouteBatchWriter } from '#shared/adapters/postgres/route-batch.pg';
import { PgRouteRepository } from '#shared/adapters/postgres/route-repository.pg';
import { PgSplitRepository } from '#shared/adapters/postgres/split-repository.pg';
import { closeAllClients } from '#shared/composition/shutdown';
import { getConfig } from '#shared/config/config';
import { PreconditionFailedError, VersionUnavailableError } from '#shared/domain/errors';
import type { SplitKey } from '#shared/domain/split';
import { splitCacheKeyOf, splitEntryOf } from '#shared/domain/split-cache-entry';
import { queryAudit } from '#shared/use-cases/query-audit.use-case';
import { toAuditRecord } from '#shared/use-cases/record-audit.use-case';
import { invoke, tokenPrincipal } from '#test/support/api-gateway';
import { sharedMongoUrl, uniqueMongoDatabase } from '#test/support/mongo';
import { testPool } from '#test/support/pg';

const pool = testPool();
const repo = new PgSplitRepository(pool);
const ctx = { changedBy: 'splits-test', correlationId: null };

afterAll(async () => {
  await closeAllClients();
  await pool.end();
});

const uniqueSplit = (): SplitKey => ({
  tenant: `s-${randomUUID().slice(0, 13)}`,
  service: 'payments',
  env: 'prod',
});
const url = (v: string) => `https://${v}.payments.example.com/`;

/** Creates active routes for `versions` of the split's (tenant, service, env). */
const withRoutes = async (key: SplitKey, versions: readonly string[]) => {
  for (const version of versions) {
    const res = await invoke(upsert, {
      method: 'POST',
      path: '/api/v1/routes',
      body: { ...key, version, url: url(version) },
    });
    expect(res.status).toBe(201);
  }
};

const put = (body: unknown, headers?: Record<string, string>, auth?: ReturnType<typeof tokenPrincipal>) =>
  invoke(changeSplit, {
    method: 'PUT',
    path: '/api/v1/splits',
    body,
    ...(headers ? { headers } : {}),
    ...(auth ? { auth } : {}),
  });
const query = (key: SplitKey) => key as unknown as Record<string, string>;
const resolveNoVersion = (
  key: SplitKey,
  extra: Record<string, string> = {},
  headers?: Record<string, string>,
) =>
  invoke(resolve, {
    path: '/api/v1/routes/resolve',
    query: { ...query(key), ...extra },
    ...(headers ? { headers } : {}),
  });

describe('the split repository (Postgres)', () => {
  it('creates, updates and deletes a split, each with a split_changed event of the weights before and after', async () => {
    const key = uniqueSplit();
    await withRoutes(key, ['v2', 'v3']);

    const created = await repo.putSplit(key, { v3: 10, v2: 90 }, ctx);
    expect(created).toMatchObject({ outcome: 'created', weights: { v2: 90, v3: 10 }, revision: 1 });
    expect(created.event).toMatchObject({
      eventType: 'split_changed',
      weights: { v2: 90, v3: 10 },
      previousWeights: null,
    });
    expect(Object.keys(created.weights!)).toEqual(['v2', 'v3']); // the fixed order

    expect(await repo.putSplit(key, { v2: 90, v3: 10 }, ctx)).toMatchObject({
      outcome: 'unchanged',
      event: null,
    });
    const updated = await repo.putSplit(key, { v2: 80, v3: 20 }, ctx);
    expect(updated.event).toMatchObject({
      revision: 2,
      weights: { v2: 80, v3: 20 },
      previousWeights: { v2: 90, v3: 10 },
    });

    const deleted = await repo.deleteSplit(key, ctx);
    expect(deleted).toMatchObject({ outcome: 'deleted', weights: null, revision: 3 });
    expect(deleted!.event).toMatchObject({ weights: null, previousWeights: { v2: 80, v3: 20 } });
    expect(await repo.findSplit(key)).toBeNull();
    expect(await repo.deleteSplit(key, ctx)).toBeNull();
    // Revisions go on after a delete: a cache can never hold a newer one than the split's.
    expect(await repo.putSplit(key, { v2: 100 }, ctx)).toMatchObject({ outcome: 'created', revision: 4 });
  });

  it('refuses a version that is not an existing active route, naming the first in the fixed order', async () => {
    const key = uniqueSplit();
    await withRoutes(key, ['v2', 'v3']);
    await invoke(setState, {
      method: 'POST',
      path: '/api/v1/routes/deactivate',
      body: { ...key, version: 'v3' },
    });

    await expect(repo.putSplit(key, { v9: 5, v3: 5, v2: 90 }, ctx)).rejects.toMatchObject({
      constructor: VersionUnavailableError,
      details: { version: 'v3' },
    });
    await expect(repo.putSplit(uniqueSplit(), { v2: 100 }, ctx)).rejects.toBeInstanceOf(
      VersionUnavailableError,
    );
    expect(await repo.findSplit(key)).toBeNull();
  });

  it('honours If-Match and If-None-Match: * under the split row lock', async () => {
    const key = uniqueSplit();
    await withRoutes(key, ['v2', 'v3']);
    const revision = (revisions: number[]) => ({
      ...ctx,
      precondition: { kind: 'revision' as const, revisions },
    });

    await expect(repo.putSplit(key, { v2: 100 }, revision([1]))).rejects.toMatchObject({
      constructor: PreconditionFailedError,
      currentRevision: null,
    });
    await repo.putSplit(key, { v2: 100 }, { ...ctx, precondition: { kind: 'absent' } });
    await expect(
      repo.putSplit(key, { v3: 100 }, { ...ctx, precondition: { kind: 'absent' } }),
    ).rejects.toMatchObject({
      currentRevision: 1,
    });
    await expect(repo.putSplit(key, { v3: 100 }, revision([7]))).rejects.toMatchObject({
      currentRevision: 1,
    });
    expect(await repo.putSplit(key, { v3: 100 }, revision([1]))).toMatchObject({ revision: 2 });
    await expect(repo.deleteSplit(key, revision([1]))).rejects.toBeInstanceOf(PreconditionFailedError);
  });

  it("loads the split with its versions' URLs, at a cache revision a URL change of a version bumps", async () => {
    const key = uniqueSplit();
    await withRoutes(key, ['v2', 'v3', 'v4']);
    await repo.putSplit(key, { v2: 90, v3: 10 }, ctx);
    const before = await repo.loadSplitState(key);
    expect(before.split).toEqual({
      revision: 1,
      targets: [
        { version: 'v2', weight: 90, url: url('v2') },
        { version: 'v3', weight: 10, url: url('v3') },
      ],
    });

    await invoke(upsert, {
      method: 'POST',
      path: '/api/v1/routes',
      body: { ...key, version: 'v3', url: 'https://new.example.com/' },
    });
    await invoke(upsert, {
      method: 'POST',
      path: '/api/v1/routes',
      body: { ...key, version: 'v4', url: 'https://other.example.com/' },
    });

    const after = await repo.loadSplitState(key);
    expect(after.cacheRevision).toBe(before.cacheRevision + 1); // v3 is in the split, v4 is not
    expect(after.split?.targets[1]).toEqual({ version: 'v3', weight: 10, url: 'https://new.example.com/' });
    expect(await repo.loadSplitState(uniqueSplit())).toEqual({ cacheRevision: 0, split: null });
  });

  it('serializes concurrent writes to one split: every change has its own revision and the weights before it', async () => {
    const key = uniqueSplit();
    await withRoutes(key, ['v2', 'v3']);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => repo.putSplit(key, { v2: 100 - (i + 1), v3: i + 1 }, ctx)),
    );

    const events = results.map((r) => r.event!).sort((a, b) => a.revision - b.revision);
    expect(events.map((e) => e.revision)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    for (let i = 1; i < events.length; i++)
      expect(events[i]!.previousWeights).toEqual(events[i - 1]!.weights);
    expect(await repo.findSplit(key)).toMatchObject({ revision: 20, weights: events[19]!.weights });

    // The same If-Match from many writers at once: exactly one wins.
    const conditional = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        repo.putSplit(
          key,
          { v2: 50 + i, v3: 50 - i },
          { ...ctx, precondition: { kind: 'revision', revisions: [20] } },
        ),
      ),
    );
    expect(conditional.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of conditional)
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(PreconditionFailedError);
  });
});

describe('the deactivate guard', () => {
  const deactivate = (key: SplitKey, version: string) =>
    invoke(setState, { method: 'POST', path: '/api/v1/routes/deactivate', body: { ...key, version } });

  it('refuses to deactivate a version the split names (409 naming the split) until the split changes', async () => {
    const key = uniqueSplit();
    await withRoutes(key, ['v2', 'v3']);
    await repo.putSplit(key, { v2: 100, v3: 0 }, ctx);

    expect(await deactivate(key, 'v3')).toMatchObject({
      status: 409,
      body: { error: 'version_in_split', split: `${key.tenant}/payments/prod`, version: 'v3' },
    });
    // Rolling back to the inactive state is a deactivation too … none here: v3 was never inactive.
    await repo.putSplit(key, { v2: 100 }, ctx);
    expect(await deactivate(key, 'v3')).toMatchObject({ status: 200, body: { outcome: 'deactivated' } });
  });

  it('never lets a split and a deactivation of its version both succeed when they race', async () => {
    for (let round = 0; round < 8; round++) {
      const key = uniqueSplit();
      await withRoutes(key, ['v2', 'v3']);
      const [split, off] = await Promise.allSettled([
        repo.putSplit(key, { v2: 50, v3: 50 }, ctx),
        deactivate(key, 'v3'),
      ]);
      const splitOk = split.status === 'fulfilled';
      const offOk = off.status === 'fulfilled' && off.value.status === 200;
      expect(splitOk !== offOk, `round ${round}: split ${splitOk}, deactivate ${offOk}`).toBe(true);
      if (!splitOk) expect((split as PromiseRejectedResult).reason).toBeInstanceOf(VersionUnavailableError);
      else expect(off).toMatchObject({ value: { status: 409 } });
    }
  });
});

describe('bulk changes (POST /api/v1/routes/batch) and splits', () => {
  const runBatch = (operations: unknown[]) =>
    invoke(batch, { method: 'POST', path: '/api/v1/routes/batch', body: { operations } });

  it('refuses a batch deactivating a version the split names (409 naming the split), applying nothing', async () => {
    const key = uniqueSplit();
    await withRoutes(key, ['v2', 'v3', 'v4']);
    await repo.putSplit(key, { v2: 90, v3: 10 }, ctx);

    const refused = await runBatch([
      { op: 'create', ...key, version: 'v4', url: 'https://changed.example.com/' },
      { op: 'deactivate', ...key, version: 'v3' },
    ]);
    expect(refused).toMatchObject({
      status: 409,
      body: { error: 'version_in_split', split: `${key.tenant}/payments/prod`, version: 'v3' },
    });
    // All or nothing: the first operation rolled back with the refused one.
    expect((await repo.loadSplitState(key)).split?.targets.map((t) => t.version)).toEqual(['v2', 'v3']);
    const v4 = await invoke(resolve, {
      path: '/api/v1/routes/resolve',
      query: { ...query(key), version: 'v4' },
    });
    expect(v4.body).toEqual({ url: url('v4') });

    await repo.putSplit(key, { v2: 100 }, ctx);
    expect(await runBatch([{ op: 'deactivate', ...key, version: 'v3' }])).toMatchObject({
      status: 200,
      body: { results: [{ outcome: 'deactivated' }] },
    });
  });

  it("bumps the split's cache revision when a batch changes a named version's URL, and resolve follows", async () => {
    const key = uniqueSplit();
    await withRoutes(key, ['v2', 'v3']);
    await put({ ...key, weights: { v3: 100 } });
    expect((await resolveNoVersion(key, { key: 'k' })).body).toMatchObject({ url: url('v3') }); // cached now
    const before = await repo.loadSplitState(key);

    const applied = await runBatch([
      { op: 'create', ...key, version: 'v3', url: 'https://v3-moved.example.com/' },
      { op: 'create', ...key, version: 'v2', url: 'https://v2-moved.example.com/' },
    ]);
    expect(applied).toMatchObject({
      status: 200,
      body: { results: [{ outcome: 'updated' }, { outcome: 'updated' }] },
    });

    const after = await repo.loadSplitState(key);
    expect(after.cacheRevision).toBe(before.cacheRevision + 1); // v3 is in the split, v2 is not
    expect(after.split?.targets).toEqual([
      { version: 'v3', weight: 100, url: 'https://v3-moved.example.com/' },
    ]);
    // The batch tombstoned the split's entry: the writer reads its own write at once, no consumer running.
    expect((await resolveNoVersion(key, { key: 'k' })).body).toMatchObject({
      url: 'https://v3-moved.example.com/',
    });
    // The entry cached before the batch is older than the bumped revision: it cannot be refilled over
    // what warming stores.
    const redis = createRedisClient(getConfig().cache);
    try {
      await new Promise((r) => redis.once('ready', r));
      const cache = new RedisRouteCache(redis);
      expect(await cache.putIfNewer(splitCacheKeyOf(key), splitEntryOf(after), 60_000)).toBe(true);
      expect(await cache.putIfNewer(splitCacheKeyOf(key), splitEntryOf(before), 60_000)).toBe(false);
    } finally {
      redis.disconnect();
    }
    expect((await resolveNoVersion(key, { key: 'k' })).body).toMatchObject({
      url: 'https://v3-moved.example.com/',
      version: 'v3',
    });
  });
});

describe("route writes and the split's cached entry", () => {
  const routes = new PgRouteRepository(pool);
  const batchWriter = new PgRouteBatchWriter(pool);
  const upsertUrl = (key: SplitKey, version: string, to: string) =>
    invoke(upsert, { method: 'POST', path: '/api/v1/routes', body: { ...key, version, url: to } });

  it('answers the cache revision a URL change gave the split naming the version, in the same transaction', async () => {
    const key = uniqueSplit();
    await withRoutes(key, ['v2', 'v3', 'v4']);
    await repo.putSplit(key, { v2: 90, v3: 10 }, ctx);
    const rev = async () => (await repo.loadSplitState(key)).cacheRevision;

    const updated = await routes.upsertRoute({ ...key, version: 'v3' }, 'https://v3-b.example.com/', ctx);
    expect(updated).toMatchObject({ outcome: 'updated', splitCacheRevision: await rev() });
    const rolledBack = await routes.rollbackRoute({ ...key, version: 'v3' }, null, ctx);
    expect(rolledBack).toMatchObject({ outcome: 'rolled_back', splitCacheRevision: await rev() });
    expect(rolledBack?.splitCacheRevision).toBe(updated.splitCacheRevision! + 1);

    // No URL the split's entry carries moved: no revision.
    const unnamed = await routes.upsertRoute({ ...key, version: 'v4' }, 'https://v4-b.example.com/', ctx);
    const same = await routes.upsertRoute({ ...key, version: 'v2' }, url('v2'), ctx);
    const created = await routes.upsertRoute({ ...key, version: 'v5' }, url('v5'), ctx);
    for (const r of [unnamed, same, created]) expect(r.splitCacheRevision).toBeUndefined();

    const batch = await batchWriter.applyBatch(
      [
        { op: 'create', key: { ...key, version: 'v2' }, url: 'https://v2-b.example.com/' },
        { op: 'create', key: { ...key, version: 'v3' }, url: 'https://v3-c.example.com/' },
        { op: 'deactivate', key: { ...key, version: 'v4' } },
      ],
      { ...ctx, batchId: randomUUID() },
    );
    const final = await rev();
    expect(batch.applied && batch.results.map((r) => r.splitCacheRevision)).toEqual([
      final - 1,
      final,
      undefined,
    ]);
  });

  it('a writer reads its URL change and rollback at once by key, with no consumer running', async () => {
    const key = uniqueSplit();
    await withRoutes(key, ['v2', 'v3']);
    await put({ ...key, weights: { v2: 50, v3: 50 } });
    const first = await resolveNoVersion(key, { key: 'customer-1' }); // cached now
    const { version } = first.body as { version: string };
    expect(first.body).toMatchObject({ url: url(version) });
    const stale = await repo.loadSplitState(key);

    expect((await upsertUrl(key, version, 'https://moved.example.com/')).body).toMatchObject({
      outcome: 'updated',
    });
    expect((await resolveNoVersion(key, { key: 'customer-1' })).body).toMatchObject({
      version,
      url: 'https://moved.example.com/',
    });

    const rolledBack = await invoke(setState, {
      method: 'POST',
      path: '/api/v1/routes/rollback',
      body: { ...key, version },
    });
    expect(rolledBack.body).toMatchObject({ outcome: 'rolled_back' });
    expect((await resolveNoVersion(key, { key: 'customer-1' })).body).toMatchObject({ url: url(version) });

    // No stale refill: the split as read before the writes cannot replace what they left in Redis.
    const redis = createRedisClient(getConfig().cache);
    try {
      await new Promise((r) => redis.once('ready', r));
      const cache = new RedisRouteCache(redis);
      expect(await cache.putIfNewer(splitCacheKeyOf(key), splitEntryOf(stale), 60_000)).toBe(false);
    } finally {
      redis.disconnect();
    }
  });
});

describe('split handlers against Postgres, Redis and the idempotency store', () => {
  it('PUT 201 with an ETag, GET 200/304, stale If-Match 412, DELETE, then no_split', async () => {
    const key = uniqueSplit();
    await withRoutes(key, ['v2', 'v3']);
    const created = await put({ ...key, weights: { v3: 10, v2: 90 } });
    expect(created).toMatchObject({
      status: 201,
      headers: { etag: '"1"' },
      body: { outcome: 'created', split: { ...key, weights: { v2: 90, v3: 10 }, revision: 1 } },
    });

    const got = await invoke(splitQuery, { path: '/api/v1/splits', query: query(key) });
    expect(got).toMatchObject({
      status: 200,
      headers: { etag: '"1"' },
      body: { ...key, weights: { v2: 90, v3: 10 }, revision: 1 },
    });
    expect(
      (
        await invoke(splitQuery, {
          path: '/api/v1/splits',
          query: query(key),
          headers: { 'If-None-Match': '"1"' },
        })
      ).status,
    ).toBe(304);

    expect(await put({ ...key, weights: { v2: 80, v3: 20 } }, { 'If-Match': '"1"' })).toMatchObject({
      status: 200,
      headers: { etag: '"2"' },
    });
    expect(await put({ ...key, weights: { v2: 70, v3: 30 } }, { 'If-Match': '"1"' })).toMatchObject({
      status: 412,
      body: { error: 'precondition_failed', current_revision: 2 },
    });
    expect(await put({ ...key, weights: { v2: 50, v9: 50 } })).toMatchObject({
      status: 409,
      body: { error: 'version_unavailable', version: 'v9' },
    });
    expect(await put({ ...key, weights: { v2: 50, v3: 40 } })).toMatchObject({
      status: 400,
      body: { error: 'validation_error', field: 'weights' },
    });

    const del = { method: 'DELETE', path: '/api/v1/splits', query: query(key) };
    expect(await invoke(changeSplit, del)).toMatchObject({
      status: 200,
      body: { outcome: 'deleted', split: { weights: null, revision: 3 } },
    });
    expect(await invoke(changeSplit, del)).toMatchObject({ status: 404, body: { error: 'no_split' } });
    expect(await invoke(splitQuery, { path: '/api/v1/splits', query: query(key) })).toMatchObject({
      status: 404,
      body: { error: 'no_split' },
    });
    expect(await resolveNoVersion(key)).toMatchObject({ status: 404, body: { error: 'no_split' } });
  });

  it('replays a PUT with the same Idempotency-Key, and refuses the key for a DELETE', async () => {
    const key = uniqueSplit();
    await withRoutes(key, ['v2']);
    const idem = { 'Idempotency-Key': `split-${randomUUID()}` };
    const first = await put({ ...key, weights: { v2: 100 } }, idem);
    const retry = await put({ ...key, weights: { v2: 100 } }, idem);
    expect(first.status).toBe(201);
    expect(retry).toMatchObject({
      status: 201,
      headers: { 'idempotent-replayed': 'true', etag: '"1"' },
      body: first.body,
    });
    expect(
      await invoke(changeSplit, {
        method: 'DELETE',
        path: '/api/v1/splits',
        query: query(key),
        headers: idem,
      }),
    ).toMatchObject({
      status: 422,
    });
  });

  it("scopes split reads and writes to the token's tenants and role", async () => {
    const key = uniqueSplit();
    await withRoutes(key, ['v2']);
    const other = tokenPrincipal({ role: 'writer', tenants: ['someone-else'] });
    expect(await put({ ...key, weights: { v2: 100 } }, undefined, other)).toMatchObject({ status: 403 });
    const reader = tokenPrincipal({ role: 'resolver', tenants: [key.tenant] });
    expect(await put({ ...key, weights: { v2: 100 } }, undefined, reader)).toMatchObject({ status: 403 });
    const writer = tokenPrincipal({ role: 'writer', tenants: [key.tenant] });
    expect(await put({ ...key, weights: { v2: 100 } }, undefined, writer)).toMatchObject({ status: 201 });
    expect(
      await invoke(splitQuery, {
        path: '/api/v1/splits',
        query: query(key),
        auth: tokenPrincipal({ role: 'resolver', tenants: ['x'] }),
      }),
    ).toMatchObject({ status: 403 });
  });
});

describe('resolve without a version (cache rule)', () => {
  it('answers {url, version, split_revision, sticky}, sticky by key or X-Route-Key, random without', async () => {
    const key = uniqueSplit();
    await withRoutes(key, ['v2', 'v3']);
    await put({ ...key, weights: { v2: 50, v3: 50 } });

    const byKey = await resolveNoVersion(key, { key: 'customer-1' });
    expect(byKey).toMatchObject({ status: 200, body: { split_revision: 1, sticky: true } });
    expect(byKey.body.url).toBe(url(byKey.body.version));
    for (let i = 0; i < 3; i++) {
      expect((await resolveNoVersion(key, { key: 'customer-1' })).body).toEqual(byKey.body);
      expect((await resolveNoVersion(key, {}, { 'X-Route-Key': 'customer-1' })).body).toEqual(byKey.body);
    }
    expect((await resolveNoVersion(key)).body).toMatchObject({ sticky: false, split_revision: 1 });
    expect(await resolveNoVersion(key, { key: 'a' }, { 'X-Route-Key': 'b' })).toMatchObject({
      status: 400,
      body: { field: 'key' },
    });
    // With a version, resolve is what it was.
    expect(
      await invoke(resolve, {
        path: '/api/v1/routes/resolve',
        query: { ...query(key), version: 'v3', key: 'x' },
      }),
    ).toMatchObject({
      status: 200,
      body: { url: url('v3') },
    });
  });

  it('reads its own split write at once, even over a cached split', async () => {
    const key = uniqueSplit();
    await withRoutes(key, ['v2', 'v3']);
    await put({ ...key, weights: { v2: 100 } });
    expect((await resolveNoVersion(key, { key: 'k' })).body).toMatchObject({ version: 'v2' }); // cached now

    await put({ ...key, weights: { v3: 100 } });

    expect((await resolveNoVersion(key, { key: 'k' })).body).toMatchObject({
      version: 'v3',
      split_revision: 2,
    });
  });

  it('refuses a stale refill in Redis: a split read before a write cannot replace what the write left', async () => {
    const key = uniqueSplit();
    await withRoutes(key, ['v2', 'v3']);
    await put({ ...key, weights: { v2: 100 } });
    const stale = await repo.loadSplitState(key);
    await put({ ...key, weights: { v3: 100 } }); // tombstones at the new cache revision

    const redis = createRedisClient(getConfig().cache);
    try {
      await new Promise((r) => redis.once('ready', r));
      const cache = new RedisRouteCache(redis);
      expect(await cache.putIfNewer(splitCacheKeyOf(key), splitEntryOf(stale), 60_000)).toBe(false);
      expect((await resolveNoVersion(key, { key: 'k' })).body).toMatchObject({ version: 'v3' });
    } finally {
      redis.disconnect();
    }
  });
});

describe('split_changed in the audit store', () => {
  const database = uniqueMongoDatabase('splits');
  let client: MongoClient;
  beforeAll(async () => {
    client = await createMongoClient({ ...getConfig().mongo, url: sharedMongoUrl() });
  });
  afterAll(async () => {
    await client.db(database).dropDatabase();
    await client.close();
  });

  it('keeps the weights before and after, found by action split_changed and not by a route query', async () => {
    const store = new MongoAuditStore(client.db(database));
    const key = uniqueSplit();
    await withRoutes(key, ['v2', 'v3']);
    const a = await repo.putSplit(key, { v2: 90, v3: 10 }, ctx);
    const b = await repo.putSplit(key, { v2: 80, v3: 20 }, ctx);
    await store.append([a, b].map((r) => toAuditRecord({ event: r.event! }, new Date())));

    const page = await queryAudit(
      { store },
      { filter: { kind: 'action', action: 'split_changed' }, limit: 10 },
    );
    expect(page.records.map((r) => [r.revision, r.weights, r.previousWeights, r.route])).toEqual([
      [2, { v2: 80, v3: 20 }, { v2: 90, v3: 10 }, key],
      [1, { v2: 90, v3: 10 }, null, key],
    ]);
    const routeTrail = await queryAudit(
      { store },
      { filter: { kind: 'route', route: { ...key, version: 'v2' } }, limit: 10 },
    );
    expect(routeTrail.records).toEqual([]);
  });
});
