import { afterAll, describe, expect, it } from 'vitest';
import { handler as batch } from '#functions/routes/batch-routes.handler';
import { handler as resolve } from '#functions/routes/resolve-route.handler';
import { handler as upsert } from '#functions/routes/upsert-route.handler';
import { getPgPool } from '#shared/composition/clients';
import { closeAllClients } from '#shared/composition/shutdown';
import type { RouteKey } from '#shared/domain/route';
import { invoke, tokenPrincipal } from '#test/support/api-gateway';
import { uniqueRouteKey } from '#test/support/fixtures';

afterAll(() => closeAllClients());

const post = (
  operations: unknown,
  headers: Record<string, string> = {},
  auth?: ReturnType<typeof tokenPrincipal>,
) =>
  invoke(batch, {
    method: 'POST',
    path: '/api/v1/routes/batch',
    body: { operations },
    headers,
    ...(auth ? { auth } : {}),
  });
const create = (key: RouteKey, url: string) => ({ op: 'create', ...key, url });
const resolveUrl = async (key: RouteKey) =>
  invoke(resolve, { path: '/api/v1/routes/resolve', query: { ...key } });

interface OutboxRow {
  id: string;
  action: string;
  tenant: string;
  version: string;
  revision: string;
  batch_id: string | null;
  published_at: Date | null;
}
const outboxOf = async (tenants: string[]) =>
  (
    await getPgPool().query<OutboxRow>(
      'SELECT id, action, tenant, version, revision, batch_id, published_at FROM route_events WHERE tenant = ANY($1) ORDER BY id',
      [tenants],
    )
  ).rows;

describe('POST /api/v1/routes/batch against Postgres, Redis and Kafka', () => {
  it('applies every operation in one transaction and answers each as its single write would', async () => {
    const a = uniqueRouteKey();
    const b = uniqueRouteKey();
    const existing = { ...a, version: 'v1' };
    await invoke(upsert, {
      method: 'POST',
      path: '/api/v1/routes',
      body: { ...existing, url: 'https://old.example.com' },
    });
    expect((await resolveUrl(existing)).status).toBe(200); // cached now: the batch must replace it

    const res = await post([
      create(a, 'https://a.example.com'),
      create(b, 'https://b.example.com'),
      { op: 'deactivate', ...existing },
      create({ ...b, version: 'v3' }, 'https://b3.example.com'),
    ]);
    expect(res.status).toBe(200);
    expect(res.body.batch_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.results).toEqual([
      {
        message: 'Route created successfully',
        outcome: 'created',
        route: { ...a, url: 'https://a.example.com', is_active: true, revision: 1 },
      },
      {
        message: 'Route created successfully',
        outcome: 'created',
        route: { ...b, url: 'https://b.example.com', is_active: true, revision: 1 },
      },
      {
        message: 'Route deactivated successfully',
        outcome: 'deactivated',
        route: { ...existing, url: 'https://old.example.com', is_active: false, revision: 2 },
      },
      {
        message: 'Route created successfully',
        outcome: 'created',
        route: { ...b, version: 'v3', url: 'https://b3.example.com', is_active: true, revision: 1 },
      },
    ]);

    // Each change is its own outbox event, in the batch's order, all with the batch's id.
    const events = (await outboxOf([a.tenant, b.tenant])).filter((e) => e.batch_id !== null);
    expect(events.map((e) => [e.tenant, e.version, e.action])).toEqual([
      [a.tenant, 'v2', 'created'],
      [b.tenant, 'v2', 'created'],
      [a.tenant, 'v1', 'deactivated'],
      [b.tenant, 'v3', 'created'],
    ]);
    expect(new Set(events.map((e) => e.batch_id))).toEqual(new Set([res.body.batch_id]));
    // The writer published them right after commit (acks=all), not left for the relay.
    expect(events.every((e) => e.published_at !== null)).toBe(true);

    // The caller reads its own writes at once (the tombstones replaced the cached entry).
    expect((await resolveUrl(existing)).status).toBe(404);
    expect((await resolveUrl(a)).body).toEqual({ url: 'https://a.example.com' });
  });

  it('writes no event for an operation that changes nothing, and still answers it', async () => {
    const a = uniqueRouteKey();
    const b = { ...a, version: 'v3' };
    await post([create(a, 'https://a.example.com'), create(b, 'https://b.example.com')]);
    const res = await post([create(a, 'https://a.example.com'), { op: 'activate', ...b }]);
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { outcome: string }) => r.outcome)).toEqual(['unchanged', 'unchanged']);
    expect(await outboxOf([a.tenant])).toHaveLength(2);
  });

  it('applies nothing when routes are missing, and names every such operation (404)', async () => {
    const a = uniqueRouteKey();
    const res = await post([
      create(a, 'https://a.example.com'),
      { op: 'activate', ...a, version: 'nope-1' },
      { op: 'deactivate', ...a, version: 'nope-2' },
    ]);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({
      error: 'route_not_found',
      failures: [
        {
          index: 1,
          error: 'route_not_found',
          message: `route ${a.tenant}/payments/prod/nope-1 does not exist`,
        },
        { index: 2, error: 'route_not_found' },
      ],
    });
    expect(res.body.failures).toHaveLength(2);
    expect(await outboxOf([a.tenant])).toEqual([]); // the create at index 0 was rolled back too
    expect((await resolveUrl(a)).status).toBe(404);
  });

  it('names every invalid operation by index and field (400), and applies nothing', async () => {
    const a = uniqueRouteKey();
    const res = await post([
      create(a, 'https://a.example.com'),
      { op: 'create', ...a, version: 'v3', url: 'ftp://x' },
      { op: 'rename', ...a },
      { op: 'activate', tenant: a.tenant, service: 'payments', env: 'prod' },
      'not an object',
    ]);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('validation_error');
    expect(res.body.failures).toEqual([
      expect.objectContaining({ index: 1, error: 'validation_error', field: 'url' }),
      expect.objectContaining({ index: 2, field: 'op', rule: 'one_of' }),
      expect.objectContaining({ index: 3, field: 'version', rule: 'required' }),
      expect.objectContaining({ index: 4, field: 'body', rule: 'type' }),
    ]);
    expect(await outboxOf([a.tenant])).toEqual([]);
  });

  it('refuses an empty batch, one over 500 operations, and a route named twice (409)', async () => {
    expect((await post([])).body).toMatchObject({ error: 'validation_error', field: 'operations' });
    const a = uniqueRouteKey();
    const many = Array.from({ length: 501 }, (_, i) =>
      create({ ...a, version: `v${i}` }, 'https://a.example.com'),
    );
    expect(await post(many)).toMatchObject({ status: 400, body: { field: 'operations' } });

    const twice = await post([
      create(a, 'https://a.example.com'),
      create({ ...a, version: 'v9' }, 'https://a.example.com'),
      { op: 'deactivate', ...a },
    ]);
    expect(twice.status).toBe(409);
    expect(twice.body).toMatchObject({
      error: 'batch_conflict',
      failures: [{ index: 2, error: 'duplicate_route' }],
    });
    expect(await outboxOf([a.tenant])).toEqual([]);
  });

  it('needs a token covering every tenant in the batch (403), and applies nothing otherwise', async () => {
    const a = uniqueRouteKey();
    const b = uniqueRouteKey();
    const writer = tokenPrincipal({ role: 'writer', tenants: [a.tenant] });
    const res = await post(
      [create(a, 'https://a.example.com'), create(b, 'https://b.example.com')],
      {},
      writer,
    );
    expect(res.status).toBe(403);
    expect(res.body.message).toContain(b.tenant);
    expect(await outboxOf([a.tenant, b.tenant])).toEqual([]);

    const resolver = tokenPrincipal({ role: 'resolver', tenants: '*' });
    expect((await post([create(a, 'https://a.example.com')], {}, resolver)).status).toBe(403);
  });

  it('charges each tenant its share of the write limit: 300 operations leave a debt at 50/s', async () => {
    const a = uniqueRouteKey();
    const b = uniqueRouteKey();
    const ops = Array.from({ length: 300 }, (_, i) =>
      create({ ...a, version: `v${i}` }, 'https://a.example.com'),
    );
    const res = await post([...ops, create(b, 'https://b.example.com')]);
    expect(res.status).toBe(200);
    // Tenant a owes 200 writes beyond its burst of 100 (4 s at 50/s); tenant b, charged one, owes nothing.
    const nextA = await invoke(upsert, {
      method: 'POST',
      path: '/api/v1/routes',
      body: { ...a, version: 'one-more', url: 'https://a.example.com' },
    });
    expect(nextA).toMatchObject({ status: 429, body: { error: 'rate_limited', scope: 'tenant' } });
    const nextB = await invoke(upsert, {
      method: 'POST',
      path: '/api/v1/routes',
      body: { ...b, version: 'one-more', url: 'https://b.example.com' },
    });
    expect(nextB.status).toBe(201);
  });

  it('replays a retried batch with the same Idempotency-Key without applying it again', async () => {
    const a = uniqueRouteKey();
    const key = `k-${crypto.randomUUID()}`;
    const ops = [
      create(a, 'https://a.example.com'),
      create({ ...a, version: 'v3' }, 'https://a3.example.com'),
    ];
    const first = await post(ops, { 'Idempotency-Key': key });
    expect(first.status).toBe(200);
    const retry = await post(ops, { 'Idempotency-Key': key });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(await outboxOf([a.tenant])).toHaveLength(2);
    const reused = await post([create(a, 'https://other.example.com')], { 'Idempotency-Key': key });
    expect(reused).toMatchObject({ status: 422, body: { error: 'idempotency_key_reused' } });
  });
});
