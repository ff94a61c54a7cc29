import { afterAll, describe, expect, it } from 'vitest';
import { handler as resolve } from '#functions/routes/resolve-route.handler';
import { handler as routeQuery } from '#functions/routes/route-query.handler';
import { handler as setState } from '#functions/routes/set-route-state.handler';
import { handler as upsert } from '#functions/routes/upsert-route.handler';
import { PgRouteRepository } from '#shared/adapters/postgres/route-repository.pg';
import { closeAllClients } from '#shared/composition/shutdown';
import type { RouteKey } from '#shared/domain/route';
import { invoke, tokenPrincipal } from '#test/support/api-gateway';
import { uniqueRouteKey } from '#test/support/fixtures';
import { testPool } from '#test/support/pg';

// Issue 13, points 1-3, through the handlers against the real Postgres and Redis.
const pool = testPool();
afterAll(async () => {
  await pool.end();
  await closeAllClients();
});

const post = (path: string, body: unknown, headers?: Record<string, string>) => ({
  method: 'POST',
  path,
  body,
  ...(headers ? { headers } : {}),
});
const get = (path: string, query: object, headers?: Record<string, string>) => ({
  path,
  query: query as Record<string, string>,
  ...(headers ? { headers } : {}),
});
const create = async (key: RouteKey, url: string) => {
  const res = await invoke(upsert, post('/api/v1/routes', { ...key, url }));
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  return res;
};

describe('GET /api/v1/routes and /api/v1/routes/detail', () => {
  it("lists a tenant's routes, active or not, in service, env, version order with cursor pages", async () => {
    const { tenant } = uniqueRouteKey();
    const keys = [
      { tenant, service: 'search', env: 'prod', version: 'v1' },
      { tenant, service: 'payments', env: 'prod', version: 'v2' },
      { tenant, service: 'payments', env: 'prod', version: 'v1' },
      { tenant, service: 'payments', env: 'dev', version: 'v1' },
    ];
    for (const key of keys) await create(key, `https://${key.service}.example.com/${key.version}`);
    await invoke(setState, post('/api/v1/routes/deactivate', keys[1]));

    const first = await invoke(routeQuery, get('/api/v1/routes', { tenant, limit: '3' }));
    expect(first.status).toBe(200);
    expect(first.body.routes.map((r: RouteKey) => `${r.service}/${r.env}/${r.version}`)).toEqual([
      'payments/dev/v1',
      'payments/prod/v1',
      'payments/prod/v2',
    ]);
    expect(first.body.routes[2]).toEqual({
      ...keys[1],
      url: 'https://payments.example.com/v2',
      is_active: false,
      revision: 2,
    });
    const second = await invoke(
      routeQuery,
      get('/api/v1/routes', { tenant, limit: '3', cursor: first.body.next_cursor }),
    );
    expect(second.body).toEqual({
      routes: [expect.objectContaining({ service: 'search' })],
      next_cursor: null,
    });

    const filtered = await invoke(
      routeQuery,
      get('/api/v1/routes', { tenant, service: 'payments', env: 'prod', active: 'true' }),
    );
    expect(filtered.body.routes.map((r: RouteKey) => r.version)).toEqual(['v1']);
    expect((await invoke(routeQuery, get('/api/v1/routes', { tenant: `${tenant}x` }))).body).toEqual({
      routes: [],
      next_cursor: null,
    });
  });

  it('names a bad parameter, a bad cursor and a missing tenant with 400s', async () => {
    const { tenant } = uniqueRouteKey();
    for (const [query, field] of [
      [{}, 'tenant'],
      [{ tenant, active: 'yes' }, 'active'],
      [{ tenant, limit: '0' }, 'limit'],
      [{ tenant, limit: '1001' }, 'limit'],
      [{ tenant, cursor: 'not-a-cursor' }, 'cursor'],
    ] as const) {
      const res = await invoke(routeQuery, get('/api/v1/routes', query));
      expect(res, JSON.stringify(query)).toMatchObject({ status: 400, body: { field } });
    }
  });

  it('keeps a token to its tenants: 403 for another tenant; a resolver token may read', async () => {
    const key = uniqueRouteKey();
    await create(key, 'https://a.example.com');
    const resolver = tokenPrincipal({ role: 'resolver', tenants: [key.tenant] });
    const other = tokenPrincipal({ role: 'resolver', tenants: ['someone-else'] });
    expect(
      (await invoke(routeQuery, { ...get('/api/v1/routes', { tenant: key.tenant }), auth: resolver })).status,
    ).toBe(200);
    expect((await invoke(routeQuery, { ...get('/api/v1/routes/detail', key), auth: resolver })).status).toBe(
      200,
    );
    expect(
      (await invoke(routeQuery, { ...get('/api/v1/routes', { tenant: key.tenant }), auth: other })).status,
    ).toBe(403);
    expect((await invoke(routeQuery, { ...get('/api/v1/routes/detail', key), auth: other })).status).toBe(
      403,
    );
  });

  it('returns one route, active or not, with its authors and times and an ETag; 404 without one', async () => {
    const key = uniqueRouteKey();
    expect(await invoke(routeQuery, get('/api/v1/routes/detail', key))).toMatchObject({
      status: 404,
      body: { error: 'route_not_found' },
    });
    await create(key, 'https://a.example.com');
    await invoke(setState, post('/api/v1/routes/deactivate', key));

    const res = await invoke(routeQuery, get('/api/v1/routes/detail', key));

    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe('"2"');
    expect(res.body).toEqual({
      ...key,
      url: 'https://a.example.com',
      is_active: false,
      revision: 2,
      created_at: expect.stringMatching(/Z$/),
      updated_at: expect.stringMatching(/Z$/),
      created_by: 'test-admin',
      updated_by: 'test-admin',
    });
    expect(Date.parse(res.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(res.body.created_at));
  });
});

describe('conditional requests', () => {
  it('answers resolve and detail with the revision as ETag, and 304 with no body when it is current', async () => {
    const key = uniqueRouteKey();
    const created = await create(key, 'https://a.example.com');
    expect(created.headers.etag).toBe('"1"');

    for (const path of ['/api/v1/routes/resolve', '/api/v1/routes/detail']) {
      const first = await invoke(path.endsWith('resolve') ? resolve : routeQuery, get(path, key));
      expect(first.headers.etag, path).toBe('"1"');
      const again = await invoke(
        path.endsWith('resolve') ? resolve : routeQuery,
        get(path, key, { 'If-None-Match': first.headers.etag as string }),
      );
      expect(again, path).toMatchObject({ status: 304, body: {}, headers: { etag: '"1"' } });
      expect(again.headers['content-type'], path).toBeUndefined();
      expect(again.headers['x-correlation-id'], path).toBeDefined();
    }

    await create(key, 'https://b.example.com');
    const changed = await invoke(resolve, get('/api/v1/routes/resolve', key, { 'If-None-Match': '"1"' }));
    expect(changed).toMatchObject({
      status: 200,
      body: { url: 'https://b.example.com' },
      headers: { etag: '"2"' },
    });
  });

  it('gives a negative resolve no ETag', async () => {
    const key = uniqueRouteKey();
    await create(key, 'https://a.example.com');
    await invoke(setState, post('/api/v1/routes/deactivate', key));
    const res = await invoke(resolve, get('/api/v1/routes/resolve', key, { 'If-None-Match': '"2"' }));
    expect(res.status).toBe(404);
    expect(res.headers.etag).toBeUndefined();
  });

  it('makes every write conditional on If-Match: 412 naming the current revision, nothing written', async () => {
    const key = uniqueRouteKey();
    await create(key, 'https://a.example.com');
    await create(key, 'https://b.example.com'); // revision 2
    const stale = { 'If-Match': '"1"' };

    for (const [path, body] of [
      ['/api/v1/routes', { ...key, url: 'https://c.example.com' }],
      ['/api/v1/routes/deactivate', key],
      ['/api/v1/routes/activate', key],
      ['/api/v1/routes/rollback', key],
    ] as const) {
      const res = await invoke(path === '/api/v1/routes' ? upsert : setState, post(path, body, stale));
      expect(res, path).toMatchObject({
        status: 412,
        body: { error: 'precondition_failed', current_revision: 2 },
      });
    }
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM route_events WHERE tenant = $1', [
      key.tenant,
    ]);
    expect(rows[0].n).toBe(2);

    const ok = await invoke(setState, post('/api/v1/routes/deactivate', key, { 'If-Match': '"2"' }));
    expect(ok).toMatchObject({ status: 200, body: { outcome: 'deactivated' }, headers: { etag: '"3"' } });
  });

  it('answers If-Match on a route that does not exist with 412 (create) or 404 (the others)', async () => {
    const key = uniqueRouteKey();
    const create412 = await invoke(
      upsert,
      post('/api/v1/routes', { ...key, url: 'https://a.example.com' }, { 'If-Match': '"1"' }),
    );
    expect(create412).toMatchObject({ status: 412, body: { current_revision: null } });
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM tenants WHERE name = $1', [key.tenant]);
    expect(rows[0].n).toBe(0);
    expect((await invoke(setState, post('/api/v1/routes/activate', key, { 'If-Match': '"1"' }))).status).toBe(
      404,
    );
  });

  it('makes a create create-only with If-None-Match: *', async () => {
    const key = uniqueRouteKey();
    const body = { ...key, url: 'https://a.example.com' };
    expect((await invoke(upsert, post('/api/v1/routes', body, { 'If-None-Match': '*' }))).status).toBe(201);
    expect(await invoke(upsert, post('/api/v1/routes', body, { 'If-None-Match': '*' }))).toMatchObject({
      status: 412,
      body: { error: 'precondition_failed', current_revision: 1 },
    });
    expect(
      (await invoke(setState, post('/api/v1/routes/activate', key, { 'If-None-Match': '*' }))).status,
    ).toBe(400);
  });

  it('lets exactly one of two racing writes with the same If-Match win', async () => {
    const key = uniqueRouteKey();
    await create(key, 'https://a.example.com');
    const race = await Promise.all(
      ['https://b.example.com', 'https://c.example.com'].map((url) =>
        invoke(upsert, post('/api/v1/routes', { ...key, url }, { 'If-Match': '"1"' })),
      ),
    );
    expect(race.map((r) => r.status).sort()).toEqual([200, 412]);
  });

  it('treats the same Idempotency-Key with another If-Match as another request (422), and replays the ETag', async () => {
    const key = uniqueRouteKey();
    await create(key, 'https://a.example.com');
    const idem = `k-${key.tenant}`;
    const first = await invoke(
      setState,
      post('/api/v1/routes/deactivate', key, { 'If-Match': '"1"', 'Idempotency-Key': idem }),
    );
    const replay = await invoke(
      setState,
      post('/api/v1/routes/deactivate', key, { 'If-Match': '"1"', 'Idempotency-Key': idem }),
    );
    expect(first).toMatchObject({ status: 200, headers: { etag: '"2"' } });
    expect(replay).toMatchObject({ status: 200, headers: { etag: '"2"', 'idempotent-replayed': 'true' } });
    const other = await invoke(
      setState,
      post('/api/v1/routes/deactivate', key, { 'If-Match': '"2"', 'Idempotency-Key': idem }),
    );
    expect(other).toMatchObject({ status: 422, body: { error: 'idempotency_key_reused' } });
  });
});

describe('POST /api/v1/routes/rollback', () => {
  it('restores the state before the latest change as a new revision, with its outbox event, and resolve reads it', async () => {
    const key = uniqueRouteKey();
    await create(key, 'https://a.example.com');
    await create(key, 'https://b.example.com');
    expect((await invoke(resolve, get('/api/v1/routes/resolve', key))).body.url).toBe(
      'https://b.example.com',
    );

    const res = await invoke(setState, post('/api/v1/routes/rollback', key, { 'If-Match': '"2"' }));

    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe('"3"');
    expect(res.body).toEqual({
      message: 'Route rolled back successfully',
      outcome: 'rolled_back',
      route: { ...key, url: 'https://a.example.com', is_active: true, revision: 3 },
      restored_revision: 1,
    });
    expect((await invoke(resolve, get('/api/v1/routes/resolve', key))).body.url).toBe(
      'https://a.example.com',
    );
    const { rows } = await pool.query(
      `SELECT action, url, previous_url, previous_state, revision, restored_revision, changed_by
         FROM route_events WHERE tenant = $1 ORDER BY id DESC LIMIT 1`,
      [key.tenant],
    );
    expect(rows[0]).toEqual({
      action: 'rolled_back',
      url: 'https://a.example.com',
      previous_url: 'https://b.example.com',
      previous_state: 'active',
      revision: 3,
      restored_revision: 1,
      changed_by: 'test-admin',
    });
  });

  it('restores the URL and active state at to_revision', async () => {
    const key = uniqueRouteKey();
    await create(key, 'https://a.example.com'); // 1
    await invoke(setState, post('/api/v1/routes/deactivate', key)); // 2
    await create(key, 'https://b.example.com'); // 3: b, inactive
    expect((await invoke(resolve, get('/api/v1/routes/resolve', key))).status).toBe(404);

    const res = await invoke(setState, post('/api/v1/routes/rollback', { ...key, to_revision: 1 }));

    expect(res.body).toMatchObject({
      outcome: 'rolled_back',
      route: { url: 'https://a.example.com', is_active: true, revision: 4 },
      restored_revision: 1,
    });
    expect((await invoke(resolve, get('/api/v1/routes/resolve', key))).body.url).toBe(
      'https://a.example.com',
    );
  });

  it('answers 404 for a missing route, 409 with nothing to roll back to, 400 for a bad to_revision', async () => {
    const key = uniqueRouteKey();
    expect(await invoke(setState, post('/api/v1/routes/rollback', key))).toMatchObject({
      status: 404,
      body: { error: 'route_not_found' },
    });
    await create(key, 'https://a.example.com');
    expect(await invoke(setState, post('/api/v1/routes/rollback', key))).toMatchObject({
      status: 409,
      body: { error: 'nothing_to_roll_back', current_revision: 1 },
    });
    expect((await invoke(setState, post('/api/v1/routes/rollback', { ...key, to_revision: 1 }))).status).toBe(
      409,
    );
    expect(await invoke(setState, post('/api/v1/routes/rollback', { ...key, to_revision: 0 }))).toMatchObject(
      {
        status: 400,
        body: { field: 'to_revision' },
      },
    );
  });

  it('keeps the history it needs in Postgres for routes written through any write function', async () => {
    const key = uniqueRouteKey();
    const repo = new PgRouteRepository(pool);
    const ctx = { changedBy: 'history-test', correlationId: null };
    await repo.upsertRoute(key, 'https://a.example.com', ctx);
    await repo.setRouteActive(key, false, ctx);
    const { rows } = await pool.query(
      `SELECT r.revision, r.url, r.is_active, r.changed_by FROM route_revisions r
         JOIN endpoints e ON e.id = r.endpoint_id JOIN environments en ON en.id = e.environment_id
         JOIN services s ON s.id = en.service_id JOIN tenants t ON t.id = s.tenant_id
        WHERE t.name = $1 ORDER BY r.revision`,
      [key.tenant],
    );
    expect(rows).toEqual([
      { revision: 1, url: 'https://a.example.com', is_active: true, changed_by: 'history-test' },
      { revision: 2, url: 'https://a.example.com', is_active: false, changed_by: 'history-test' },
    ]);
  });
});
