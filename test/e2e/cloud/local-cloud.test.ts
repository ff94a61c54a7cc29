import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAPI_PATH } from '#functions/openapi/paths';
import { uniqueRouteKey } from '#test/support/fixtures';
import { eventually } from '#test/support/kafka';
import { type RunningCloud, startLocalCloud } from '#test/support/local-runner';

// What ships, run: every function from its bundle on Node 22 with the template's environment, the API
// from the template (authorizer, gateway responses), the MSK event sources and the relay schedule.
let cloud: RunningCloud;
const METRICS_TOKEN = 'local-cloud-metrics-token-0123456789abcdef';
beforeAll(async () => {
  cloud = await startLocalCloud({ AUTH_MODE: 'on', METRICS_TOKEN });
}, 240_000);
afterAll(async () => {
  await cloud?.stop();
});

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly json: Record<string, any>;
}

const call = async (
  method: string,
  path: string,
  {
    token,
    body,
    headers = {},
  }: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> => {
  const res = await fetch(`${cloud.url}${path}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token ?? cloud.adminToken}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : {} };
};
const q = (k: object, extra: Record<string, string> = {}) =>
  new URLSearchParams({ ...(k as Record<string, string>), ...extra }).toString();

const mint = async (role: string, tenants: string[] | '*', principal = `cloud-${role}`) => {
  const res = await call('POST', '/api/v1/admin/tokens', {
    body: { principal, role, tenants, expires_in_days: 1 },
  });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.secret as string;
};

describe('the local cloud (AUTH_MODE=on, as in AWS)', () => {
  it('bootstraps the first admin token through the operator function', () => {
    expect(cloud.adminToken).toMatch(/^tm_[a-z2-7]{16}_/);
    expect(cloud.output()).toContain('deployed Custom::Migrations');
    expect(cloud.output()).toContain('deployed Custom::KafkaTopic');
    // The audit store's indexes come from its deploy step (the audit functions may not create them).
    expect(cloud.output()).toContain('deployed Custom::AuditStoreSetup');
  });

  it('runs the seed workflow with tokens, and the change reaches the audit trail through Kafka', async () => {
    const key = uniqueRouteKey();
    const writer = await mint('writer', [key.tenant]);
    const created = await call('POST', '/api/v1/routes', {
      token: writer,
      body: { ...key, url: 'https://payments.example.com/v2' },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ outcome: 'created', route: { ...key, revision: 1 } });
    expect((await call('GET', `/api/v1/routes/resolve?${q(key)}`, { token: writer })).json).toEqual({
      url: 'https://payments.example.com/v2',
    });
    expect((await call('POST', '/api/v1/routes/deactivate', { token: writer, body: key })).status).toBe(200);
    expect((await call('GET', `/api/v1/routes/resolve?${q(key)}`, { token: writer })).status).toBe(404);
    expect((await call('POST', '/api/v1/routes/activate', { token: writer, body: key })).status).toBe(200);

    // outbox → Kafka → the MSK-triggered audit function → the Mongo-wire store → the audit API function.
    const events = await eventually(
      async () => {
        const page = await call('GET', `/api/v1/audit/route?${q(key)}`, { token: writer });
        return page.json.count === 3 && (page.json.events as Record<string, unknown>[]);
      },
      { timeoutMs: 30_000, what: 'three audit documents' },
    );
    expect(events.map((e) => e.action)).toEqual(['activated', 'deactivated', 'created']);
    // The acting token's id beside its name (issue 16.2), through the outbox, Kafka and the audit store.
    expect(events[0]).toMatchObject({
      changed_by: 'cloud-writer',
      changed_by_token_id: writer.split('_')[1],
      revision: 3,
    });

    // The functions' EMF lines, as CloudWatch would count them, served as Prometheus text.
    // With auth on, /metrics answers only the metrics token (issue 16.7).
    expect((await fetch(`${cloud.url}/metrics`)).status).toBe(401);
    const names = ['resolve_requests_total', 'write_success_total', 'events_published_total'];
    // The relay publishes the events and flushes its metrics with each backlog report (every 5 s).
    const metrics = await eventually(
      async () => {
        const text = await (
          await fetch(`${cloud.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
        ).text();
        return names.every((name) => new RegExp(`^${name} [1-9]`, 'm').test(text)) && text;
      },
      { timeoutMs: 15_000, what: 'the write, resolve and relay metrics' },
    );
    for (const name of names) expect(metrics).toMatch(new RegExp(`^${name} [1-9]`, 'm'));
  });

  it('applies a bulk change across tenants in one transaction, each change audited with the batch id', async () => {
    const a = uniqueRouteKey();
    const b = uniqueRouteKey();
    const writer = await mint('writer', [a.tenant, b.tenant], 'cloud-bulk-writer');
    const narrow = await mint('writer', [a.tenant], 'cloud-narrow-writer');
    const operations = [
      { op: 'create', ...a, url: 'https://a.example.com' },
      { op: 'create', ...b, url: 'https://b.example.com' },
      { op: 'create', ...a, version: 'v3', url: 'https://a3.example.com' },
    ];
    // A token that does not cover every tenant in the batch changes nothing.
    expect((await call('POST', '/api/v1/routes/batch', { token: narrow, body: { operations } })).status).toBe(
      403,
    );
    // A missing route anywhere rolls the whole batch back, naming it.
    const missing = await call('POST', '/api/v1/routes/batch', {
      token: writer,
      body: { operations: [...operations, { op: 'deactivate', ...b, version: 'v9' }] },
    });
    expect(missing.status).toBe(404);
    expect(missing.json.failures).toMatchObject([{ index: 3, error: 'route_not_found' }]);
    expect((await call('GET', `/api/v1/routes/resolve?${q(a)}`, { token: writer })).status).toBe(404);

    const twice = await call('POST', '/api/v1/routes/batch', {
      token: writer,
      body: { operations: [...operations, { op: 'deactivate', ...a }] },
    });
    expect(twice.status, JSON.stringify(twice.json)).toBe(409); // a named twice: nothing applied
    expect(twice.json.failures).toMatchObject([{ index: 3, error: 'duplicate_route' }]);
    const applied = await call('POST', '/api/v1/routes/batch', {
      token: writer,
      body: { operations },
      headers: { 'Idempotency-Key': `batch-${a.tenant}` },
    });
    expect(applied.status, JSON.stringify(applied.json)).toBe(200);
    expect(applied.json.results.map((r: { outcome: string }) => r.outcome)).toEqual([
      'created',
      'created',
      'created',
    ]);
    const replay = await call('POST', '/api/v1/routes/batch', {
      token: writer,
      body: { operations },
      headers: { 'Idempotency-Key': `batch-${a.tenant}` },
    });
    expect(replay.json).toEqual(applied.json);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((await call('GET', `/api/v1/routes/resolve?${q(b)}`, { token: writer })).json).toEqual({
      url: 'https://b.example.com',
    });

    // outbox → Kafka → the audit function → the audit API: each change its own event, with the batch id.
    for (const key of [a, b, { ...a, version: 'v3' }]) {
      const events = await eventually(
        async () => {
          const page = await call('GET', `/api/v1/audit/route?${q(key)}`, { token: writer });
          return page.json.count === 1 && (page.json.events as Record<string, unknown>[]);
        },
        { timeoutMs: 30_000, what: 'the batch audit document' },
      );
      expect(events[0]).toMatchObject({ action: 'created', batch_id: applied.json.batch_id });
    }
  });

  it('lists and reads routes, answers conditional requests and rolls back, audited through Kafka', async () => {
    const key = uniqueRouteKey();
    const writer = await mint('writer', [key.tenant]);
    const resolver = await mint('resolver', [key.tenant]);
    const other = { ...key, version: 'v9' };
    await call('POST', '/api/v1/routes', {
      token: writer,
      body: { ...other, url: 'https://v9.example.com' },
    });
    const created = await call('POST', '/api/v1/routes', {
      token: writer,
      body: { ...key, url: 'https://a.example.com' },
      headers: { 'if-none-match': '*' },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('etag')).toBe('"1"');
    const again = await call('POST', '/api/v1/routes', {
      token: writer,
      body: { ...key, url: 'https://a.example.com' },
      headers: { 'if-none-match': '*' },
    });
    expect(again.status).toBe(412);
    const updated = await call('POST', '/api/v1/routes', {
      token: writer,
      body: { ...key, url: 'https://b.example.com' },
      headers: { 'if-match': '"1"' },
    });
    expect(updated.headers.get('etag')).toBe('"2"');

    // Reads, with a resolver token: the list (paged), one route in full, and 304 while unchanged.
    const page = await call('GET', `/api/v1/routes?${q({ tenant: key.tenant }, { limit: '1' })}`, {
      token: resolver,
    });
    expect(page.status).toBe(200);
    expect(page.json.routes).toEqual([
      { ...key, url: 'https://b.example.com', is_active: true, revision: 2 },
    ]);
    const rest = await call(
      'GET',
      `/api/v1/routes?${q({ tenant: key.tenant }, { cursor: page.json.next_cursor })}`,
      {
        token: resolver,
      },
    );
    expect(rest.json).toEqual({ routes: [expect.objectContaining({ version: 'v9' })], next_cursor: null });
    const detail = await call('GET', `/api/v1/routes/detail?${q(key)}`, { token: resolver });
    expect(detail.json).toMatchObject({
      revision: 2,
      created_by: 'cloud-writer',
      updated_by: 'cloud-writer',
    });
    for (const path of ['/api/v1/routes/resolve', '/api/v1/routes/detail']) {
      const first = await call('GET', `${path}?${q(key)}`, { token: resolver });
      expect(first.headers.get('etag'), path).toBe('"2"');
      const unchanged = await call('GET', `${path}?${q(key)}`, {
        token: resolver,
        headers: { 'if-none-match': '"2"' },
      });
      expect(unchanged.status, path).toBe(304);
      expect(unchanged.json, path).toEqual({});
    }

    // A stale If-Match changes nothing; rollback restores the URL before the latest change.
    const stale = await call('POST', '/api/v1/routes/rollback', {
      token: writer,
      body: key,
      headers: { 'if-match': '"1"' },
    });
    expect(stale.status).toBe(412);
    expect(stale.json).toMatchObject({ error: 'precondition_failed', current_revision: 2 });
    const rolled = await call('POST', '/api/v1/routes/rollback', {
      token: writer,
      body: key,
      headers: { 'if-match': '"2"' },
    });
    expect(rolled.status).toBe(200);
    expect(rolled.json).toMatchObject({
      outcome: 'rolled_back',
      route: { url: 'https://a.example.com', revision: 3 },
      restored_revision: 1,
    });
    expect((await call('GET', `/api/v1/routes/resolve?${q(key)}`, { token: resolver })).json).toEqual({
      url: 'https://a.example.com',
    });
    const nothing = await call('POST', '/api/v1/routes/rollback', { token: writer, body: other });
    expect(nothing.status).toBe(409);

    const audited = await eventually(
      async () => {
        const trail = await call('GET', `/api/v1/audit/route?${q(key)}`, { token: writer });
        return trail.json.count === 3 && (trail.json.events as Record<string, unknown>[]);
      },
      { timeoutMs: 30_000, what: 'the rollback in the audit trail' },
    );
    expect(audited[0]).toMatchObject({
      action: 'rolled_back',
      url: 'https://a.example.com',
      previous_url: 'https://b.example.com',
      previous_state: 'active',
      revision: 3,
      restored_revision: 1,
    });
    const byAction = await call('GET', '/api/v1/audit/action?action=rolled_back', { token: writer });
    expect(byAction.json.events).toEqual([expect.objectContaining({ route: key, restored_revision: 1 })]);
  });

  it('answers with the template gateway responses: no token 401, a role without the permission 403', async () => {
    const key = uniqueRouteKey();
    const none = await call('GET', `/api/v1/routes/resolve?${q(key)}`, { token: null });
    expect(none.status).toBe(401);
    expect(none.json.error).toBe('unauthorized');
    const resolver = await mint('resolver', [key.tenant]);
    const denied = await call('POST', '/api/v1/routes', {
      token: resolver,
      body: { ...key, url: 'https://x.example.com' },
    });
    expect(denied.status).toBe(403);
    const invalid = await call('GET', `/api/v1/routes/resolve?${q(key)}`, {
      token: 'tm_aaaaaaaaaaaaaaaa_bogus',
    });
    expect(invalid.status).toBe(401);
    // Every gateway answer carries X-Correlation-ID: the template maps it from context.requestId (16.6).
    for (const answer of [none, denied, invalid]) {
      expect(answer.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('refuses bad input with a JSON 4xx naming the problem, and unknown paths as API Gateway does', async () => {
    const invalid = await call('POST', '/api/v1/routes', { body: { tenant: 'bad tenant', service: 's' } });
    expect(invalid.status).toBe(400);
    expect(invalid.json).toMatchObject({ error: 'validation_error', field: 'tenant' });
    const malformed = await call('POST', '/api/v1/routes', { body: '{"tenant":' });
    expect(malformed.status).toBe(400);
    expect(malformed.json.error).toBe('malformed_request');
    const unknown = await call('GET', '/api/v1/nowhere');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toBe('not_found');
    // A method the stack does not declare on a path is the same gateway answer in AWS (no 405 there).
    const wrongMethod = await call('DELETE', '/api/v1/routes');
    expect(wrongMethod.status).toBe(404);
    expect(unknown.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(wrongMethod.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves health without a token; a cold container has connected to the cache during init; Kafka is reported', async () => {
    // The first call of the health function is a cold start: its cache client reads the auth token from
    // Secrets Manager and connects during init, so even this first probe finds the cache connected.
    const ready = await call('GET', '/health/ready', { token: null });
    expect(ready.status).toBe(200);
    expect(ready.json).toMatchObject({
      status: 'ready',
      checks: {
        database: { status: 'healthy' },
        cache: { status: 'healthy' },
        // The health function's kafkaProbe binding (metadata only): informational, like the cache.
        kafka: { status: 'healthy', brokers: 1, topic: 'route-events' },
      },
    });
    expect((await call('GET', '/health', { token: null })).json).toEqual({
      status: 'healthy',
      service: 'traffic-manager',
    });
  });

  it('serves the OpenAPI document without a token, from the file shipped next to the health function’s bundle', async () => {
    const res = await call('GET', '/openapi.json', { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.json).toEqual(JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')));
  });

  it('answers gateway errors as API Gateway does, in JSON: a throttled function is a 500', async () => {
    // More parallel writes than the write function's reserved concurrency (4 in the local stage).
    const key = uniqueRouteKey();
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        call('POST', '/api/v1/routes', { body: { ...key, version: `v${i}`, url: 'https://t.example.com' } }),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(
      statuses.every((s) => s === 201 || s === 500),
      statuses.join(','),
    ).toBe(true);
    const throttled = answers.filter((a) => a.status === 500);
    expect(throttled.length).toBeGreaterThan(0);
    for (const a of throttled)
      expect(a.json).toMatchObject({ error: expect.any(String), message: expect.any(String) });
  });
});

describe('the local cloud as a newcomer meets it (npm start: auth off on loopback)', () => {
  let open: RunningCloud;
  beforeAll(async () => {
    open = await startLocalCloud();
  }, 240_000);
  afterAll(async () => {
    await open?.stop();
  });

  it('serves the original curl workflow without tokens, and says auth is off', async () => {
    expect(open.output()).toContain('AUTH IS OFF');
    const key = uniqueRouteKey();
    const post = (path: string, body: object) =>
      fetch(`${open.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post('/api/v1/routes', { ...key, url: 'https://payments.example.com/v2' })).status).toBe(
      201,
    );
    const resolved = await fetch(`${open.url}/api/v1/routes/resolve?${q(key)}`);
    expect(await resolved.json()).toEqual({ url: 'https://payments.example.com/v2' });
    expect((await post('/api/v1/routes/deactivate', key)).status).toBe(200);
    expect((await fetch(`${open.url}/api/v1/routes/resolve?${q(key)}`)).status).toBe(404);
  });
  it('stops on SIGTERM without calling its own kills crashes (a relay run is always going)', async () => {
    // The schedule invoked the relay at start and its run (130 s) outlasts this file: stopping kills it.
    expect(await open.stop()).toBe(0);
    expect(open.output()).toContain('SIGTERM: stopping');
    expect(open.output()).not.toMatch(/: crash /);
  });
});
