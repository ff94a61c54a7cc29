import './handlers.env.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { handler as health } from '#functions/health/health.handler';
import { handler as resolve } from '#functions/routes/resolve-route.handler';
import { handler as setState } from '#functions/routes/set-route-state.handler';
import { handler as upsert } from '#functions/routes/upsert-route.handler';
import { eventReadinessProbes } from '#shared/composition/event-probes';
import { addReadinessProbes } from '#shared/composition/readiness-clients';
import { closeAllClients } from '#shared/composition/shutdown';
import { invoke, tokenPrincipal } from '#test/support/api-gateway';
import { uniqueRouteKey } from '#test/support/fixtures';
import { testPool } from '#test/support/pg';

afterAll(() => closeAllClients());

const resolveQuery = (key: object) => ({
  path: '/api/v1/routes/resolve',
  query: key as Record<string, string>,
});
const post = (path: string, body: unknown, headers?: Record<string, string>) => ({
  method: 'POST',
  path,
  body,
  ...(headers ? { headers } : {}),
});

describe('route handlers against Postgres and Redis', () => {
  it('runs the seed workflow: create 201, resolve, deactivate → 404, activate → resolves again', async () => {
    const key = uniqueRouteKey();
    const created = await invoke(
      upsert,
      post('/api/v1/routes', { ...key, url: 'https://payments.example.com/v2' }),
    );
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      message: 'Route created successfully',
      outcome: 'created',
      route: { ...key, url: 'https://payments.example.com/v2', is_active: true, revision: 1 },
    });

    expect(await invoke(resolve, resolveQuery(key))).toMatchObject({
      status: 200,
      body: { url: 'https://payments.example.com/v2' },
    });

    const off = await invoke(setState, post('/api/v1/routes/deactivate', key));
    expect(off).toMatchObject({
      status: 200,
      body: { outcome: 'deactivated', route: { is_active: false, revision: 2 } },
    });
    expect(await invoke(resolve, resolveQuery(key))).toMatchObject({
      status: 404,
      body: { error: 'route_not_found' },
    });

    expect((await invoke(setState, post('/api/v1/routes/activate', key))).status).toBe(200);
    expect(await invoke(resolve, resolveQuery(key))).toMatchObject({
      status: 200,
      body: { url: 'https://payments.example.com/v2' },
    });
  });

  it('reads its own write at once: a create after a negative cache entry resolves immediately', async () => {
    const key = uniqueRouteKey();
    expect((await invoke(resolve, resolveQuery(key))).status).toBe(404); // now negatively cached
    await invoke(upsert, post('/api/v1/routes', { ...key, url: 'https://a.example.com' }));
    expect(await invoke(resolve, resolveQuery(key))).toMatchObject({
      status: 200,
      body: { url: 'https://a.example.com' },
    });

    await invoke(upsert, post('/api/v1/routes', { ...key, url: 'https://b.example.com' }));
    expect(await invoke(resolve, resolveQuery(key))).toMatchObject({
      body: { url: 'https://b.example.com' },
    });
  });

  it('answers a repeated create with 200 unchanged and an update with 200 updated', async () => {
    const key = uniqueRouteKey();
    await invoke(upsert, post('/api/v1/routes', { ...key, url: 'https://a.example.com' }));
    expect(
      await invoke(upsert, post('/api/v1/routes', { ...key, url: 'https://a.example.com' })),
    ).toMatchObject({
      status: 200,
      body: { outcome: 'unchanged', message: 'Route unchanged' },
    });
    expect(
      await invoke(upsert, post('/api/v1/routes', { ...key, url: 'https://b.example.com' })),
    ).toMatchObject({
      status: 200,
      body: { outcome: 'updated', route: { url: 'https://b.example.com', revision: 2 } },
    });
  });

  it('answers 404 when activating or deactivating a route that does not exist', async () => {
    const key = uniqueRouteKey();
    for (const path of ['/api/v1/routes/activate', '/api/v1/routes/deactivate']) {
      expect(await invoke(setState, post(path, key))).toMatchObject({
        status: 404,
        body: { error: 'route_not_found' },
      });
    }
  });

  it("records the token's principal as the author; an X-Changed-By header changes nothing", async () => {
    const key = uniqueRouteKey();
    const alice = tokenPrincipal({ name: 'alice@example.com', role: 'writer', tenants: [key.tenant] });
    const res = await invoke(upsert, {
      ...post('/api/v1/routes', { ...key, url: 'https://a.example.com' }, { 'X-Changed-By': 'mallory' }),
      auth: alice,
    });
    expect(res.status).toBe(201);

    const pool = testPool();
    const { rows } = await pool.query('SELECT changed_by FROM route_events WHERE tenant = $1', [key.tenant]);
    await pool.end();
    expect(rows).toEqual([{ changed_by: 'alice@example.com' }]);
  });
});

describe('bad input', () => {
  it.each([
    ['malformed JSON', { rawBody: '{"tenant":' }, 400, 'malformed_request'],
    ['an empty body', { rawBody: '' }, 400, 'malformed_request'],
    ['a JSON array', { rawBody: '[1,2]' }, 400, 'validation_error'],
    ['a JSON string', { rawBody: '"x"' }, 400, 'validation_error'],
    [
      'a number for a name',
      { body: { tenant: 1, service: 's', env: 'e', version: 'v', url: 'https://a' } },
      400,
      'validation_error',
    ],
    [
      'a body over the limit',
      { rawBody: JSON.stringify({ pad: 'x'.repeat(20_000) }) },
      413,
      'payload_too_large',
    ],
    [
      'a non-JSON content type',
      { rawBody: 'tenant=a', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
      415,
      'unsupported_media_type',
    ],
  ])('rejects %s with a JSON %i', async (_label, input, status, error) => {
    const res = await invoke(upsert, { method: 'POST', path: '/api/v1/routes', ...input });
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ error });
    expect(typeof res.body.message).toBe('string');
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/); // no stack traces
  });

  it('names the missing query parameter on resolve', async () => {
    const res = await invoke(resolve, {
      path: '/api/v1/routes/resolve',
      query: { tenant: 'a', service: 's', version: 'v1' },
    });
    expect(res).toMatchObject({
      status: 400,
      body: { error: 'validation_error', field: 'env', rule: 'required' },
    });
    // Without a version, resolve asks the (tenant, service, env)'s split (issue 14): env is required there too.
    expect(
      await invoke(resolve, { path: '/api/v1/routes/resolve', query: { tenant: 'a', service: 's' } }),
    ).toMatchObject({ status: 400, body: { field: 'env', rule: 'required' } });
  });

  it('rejects a query parameter given twice', async () => {
    const res = await invoke(resolve, {
      path: '/api/v1/routes/resolve',
      query: { tenant: ['a', 'b'], service: 's', env: 'e', version: 'v' },
    });
    expect(res).toMatchObject({ status: 400, body: { field: 'tenant', rule: 'single_value' } });
  });

  it('treats operator-looking parameters as unknown, not as operators', async () => {
    const res = await invoke(resolve, {
      path: '/api/v1/routes/resolve',
      query: { 'tenant[$ne]': 'x', service: 's', env: 'e', version: 'v' },
    });
    expect(res).toMatchObject({ status: 400, body: { field: 'tenant', rule: 'required' } });
  });
});

describe('correlation ids', () => {
  it('echoes a safe X-Correlation-ID', async () => {
    const res = await invoke(health, { path: '/health', headers: { 'X-Correlation-ID': 'abc-123.x:y' } });
    expect(res.headers['x-correlation-id']).toBe('abc-123.x:y');
  });

  it.each([
    ['too long', 'x'.repeat(129)],
    ['unsafe characters', 'abc\r\nSet-Cookie: x'],
    ['empty', ''],
  ])('replaces a correlation id that is %s with a generated one', async (_label, id) => {
    const res = await invoke(health, { path: '/health', headers: { 'X-Correlation-ID': id } });
    expect(res.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('puts the correlation id on error responses too', async () => {
    const res = await invoke(upsert, {
      method: 'POST',
      path: '/api/v1/routes',
      rawBody: '{',
      headers: { 'X-Correlation-ID': 'err-1' },
    });
    expect(res.headers['x-correlation-id']).toBe('err-1');
  });
});

describe('health', () => {
  it('reports ready with database, cache, Kafka and audit-store checks', async () => {
    addReadinessProbes(...eventReadinessProbes()); // as the local runner does
    const res = await invoke(health, { path: '/health/ready' });
    expect(res).toMatchObject({
      status: 200,
      body: {
        status: 'ready',
        checks: {
          database: { status: 'healthy' },
          cache: { status: 'healthy', backend: 'redis' },
          kafka: { status: 'healthy' },
          audit_store: { status: 'healthy' },
        },
      },
    });
  });

  it('reports breakers, retry budget, bulkheads and draining on /health/resilience', async () => {
    const res = await invoke(health, { path: '/health/resilience' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      breakers: { database: { state: 'closed' } },
      retry_budget: { capacity: expect.any(Number) },
      draining: false,
      bulkheads: expect.any(Object),
    });
  });

  it('answers liveness and the basic health check', async () => {
    expect((await invoke(health, { path: '/health/live' })).body).toEqual({
      status: 'alive',
      service: 'traffic-manager',
    });
    expect((await invoke(health, { path: '/health' })).body).toEqual({
      status: 'healthy',
      service: 'traffic-manager',
    });
  });
});
