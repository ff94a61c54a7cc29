import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { handler as setState } from '#functions/routes/set-route-state.handler';
import { handler as upsert } from '#functions/routes/upsert-route.handler';
import { DynamoDbIdempotencyStore } from '#shared/adapters/idempotency/idempotency.dynamodb';
import { getPgPool } from '#shared/composition/clients';
import { closeAllClients } from '#shared/composition/shutdown';
import { DependencyUnavailableError } from '#shared/domain/errors';
import { invoke, tokenPrincipal } from '#test/support/api-gateway';
import { uniqueRouteKey } from '#test/support/fixtures';
import { waitForLockWaiters } from '#test/support/pg';

afterAll(() => closeAllClients());

const create = (body: object, key?: string) =>
  invoke(upsert, {
    method: 'POST',
    path: '/api/v1/routes',
    body,
    headers: key ? { 'Idempotency-Key': key } : {},
  });
const eventCount = async (tenant: string) =>
  (await getPgPool().query('SELECT count(*)::int AS n FROM route_events WHERE tenant = $1', [tenant])).rows[0]
    .n as number;
const newKey = () => `k-${crypto.randomUUID()}`;

describe('Idempotency-Key on writes (local DynamoDB)', () => {
  it('returns the stored response to a retry without executing again', async () => {
    const route = uniqueRouteKey();
    const key = newKey();
    const first = await create({ ...route, url: 'https://a.example.com' }, key);
    expect(first.status).toBe(201);

    // Someone else changes the route; a retry of the first request must still get the first answer.
    await create({ ...route, url: 'https://b.example.com' });
    const retry = await create({ ...route, url: 'https://a.example.com' }, key);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(await eventCount(route.tenant)).toBe(2); // created + the other update; the retry wrote nothing
  });

  it('rejects the same key with a different body with 422', async () => {
    const route = uniqueRouteKey();
    const key = newKey();
    await create({ ...route, url: 'https://a.example.com' }, key);
    const reused = await create({ ...route, url: 'https://other.example.com' }, key);
    expect(reused).toMatchObject({ status: 422, body: { error: 'idempotency_key_reused' } });
  });

  it('answers a concurrent duplicate with 409 while the first is in progress', async () => {
    const route = uniqueRouteKey();
    await create({ ...route, url: 'https://a.example.com' });
    const key = newKey();
    // Hold the route's row lock so the first request stays in progress.
    const blocker = await getPgPool().connect();
    await blocker.query('BEGIN');
    await blocker.query(
      `SELECT e.id FROM endpoints e JOIN environments en ON en.id = e.environment_id JOIN services s ON s.id = en.service_id
         JOIN tenants t ON t.id = s.tenant_id WHERE t.name = $1 FOR UPDATE OF e`,
      [route.tenant],
    );
    const first = invoke(setState, {
      method: 'POST',
      path: '/api/v1/routes/deactivate',
      body: route,
      headers: { 'Idempotency-Key': key },
    });
    await waitForLockWaiters(getPgPool(), 'tm_set_route_active', 1);
    const second = await invoke(setState, {
      method: 'POST',
      path: '/api/v1/routes/deactivate',
      body: route,
      headers: { 'Idempotency-Key': key },
    });
    await blocker.query('COMMIT');
    blocker.release();
    expect(second).toMatchObject({ status: 409, body: { error: 'idempotency_in_progress' } });
    expect((await first).status).toBe(200);
  });

  it('scopes keys by endpoint: the same key on activate and deactivate are different requests', async () => {
    const route = uniqueRouteKey();
    await create({ ...route, url: 'https://a.example.com' });
    const key = newKey();
    const off = await invoke(setState, {
      method: 'POST',
      path: '/api/v1/routes/deactivate',
      body: route,
      headers: { 'Idempotency-Key': key },
    });
    const on = await invoke(setState, {
      method: 'POST',
      path: '/api/v1/routes/activate',
      body: route,
      headers: { 'Idempotency-Key': key },
    });
    expect([off.body.outcome, on.body.outcome]).toEqual(['deactivated', 'activated']);
  });

  it("keys records by token and tenant: two tenants' tokens with one principal name share no key", async () => {
    const a = uniqueRouteKey();
    const b = uniqueRouteKey();
    const key = newKey();
    const as = (tenant: string, tokenId: string) =>
      tokenPrincipal({ name: 'ci', role: 'writer', tenants: [tenant], tokenId });
    const first = await invoke(upsert, {
      method: 'POST',
      path: '/api/v1/routes',
      body: { ...a, url: 'https://a.example.com' },
      headers: { 'Idempotency-Key': key },
      auth: as(a.tenant, 'aaaaaaaaaaaaaaaa'),
    });
    const other = await invoke(upsert, {
      method: 'POST',
      path: '/api/v1/routes',
      body: { ...b, url: 'https://b.example.com' },
      headers: { 'Idempotency-Key': key },
      auth: as(b.tenant, 'bbbbbbbbbbbbbbbb'),
    });
    expect([first.status, other.status]).toEqual([201, 201]);
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    expect(await eventCount(b.tenant)).toBe(1);
  });

  it('rejects a malformed key with 400', async () => {
    const res = await create({ ...uniqueRouteKey(), url: 'https://a.example.com' }, 'bad key with spaces');
    expect(res).toMatchObject({ status: 400, body: { field: 'Idempotency-Key' } });
  });

  it('runs normally without the header', async () => {
    const route = uniqueRouteKey();
    expect((await create({ ...route, url: 'https://a.example.com' })).status).toBe(201);
    expect((await create({ ...route, url: 'https://a.example.com' })).status).toBe(200);
  });
});

describe('idempotency store outage', () => {
  it('fails a keyed write with DependencyUnavailableError and does not run it', async () => {
    const client = new DynamoDBClient({
      endpoint: 'http://127.0.0.1:1',
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const store = new DynamoDbIdempotencyStore(client, 'traffic-manager-idempotency');
    let ran = false;
    const run = store.run(
      'k',
      { a: 1 },
      async () => {
        ran = true;
        return 1;
      },
      { remainingTimeMs: () => 10_000 },
    );
    await expect(run).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(ran).toBe(false);
    client.destroy();
  });
});
