import { describe, expect, it } from 'vitest';
import { type ClientOptions, TrafficManagerClient } from '#client/client';
import {
  AbortedError,
  AuthError,
  NotFoundError,
  PreconditionFailedError,
  RateLimitedError,
  ServerError,
  UnavailableError,
} from '#client/errors';
import type { ClientEvent } from '#client/events';

// The client's logic over a scripted transport and a fake clock (sleeping advances it); the real API's
// answers are exercised in test/integration/client and test/e2e/client.

type Answer = { status: number; body?: unknown; headers?: Record<string, string> } | 'refused' | 'hang';

interface Sent {
  readonly method: string;
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

const ROUTE = { tenant: 't', service: 's', env: 'prod', version: 'v1' };

const harness = (script: Answer[], options: Partial<ClientOptions> = {}) => {
  let now = 1_000_000;
  const sent: Sent[] = [];
  const waits: number[] = [];
  const events: ClientEvent[] = [];
  const fetch = (async (input: string | URL, init: RequestInit = {}) => {
    sent.push({
      method: init.method ?? 'GET',
      url: new URL(String(input)),
      headers: Object.fromEntries(new Headers(init.headers).entries()),
      body: init.body ? JSON.parse(String(init.body)) : undefined,
    });
    const answer = script.shift() ?? { status: 500, body: { error: 'script_exhausted' } };
    if (answer === 'refused') {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }),
      });
    }
    if (answer === 'hang') {
      return new Promise<Response>((_, reject) => {
        init.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    }
    const body = answer.body === undefined ? null : JSON.stringify(answer.body);
    return new Response(body, { status: answer.status, headers: answer.headers });
  }) as typeof globalThis.fetch;
  const client = new TrafficManagerClient({
    baseUrl: 'http://api.test/prod',
    token: 'tm_test',
    fetch,
    now: () => now,
    random: () => 0.5,
    sleep: async (ms) => {
      waits.push(ms);
      now += ms;
    },
    onEvent: (e) => events.push(e),
    cache: { maxAgeMs: 1_000, negativeMaxAgeMs: 500, staleIfErrorMs: 60_000 },
    ...options,
  });
  return { client, sent, waits, events, advance: (ms: number) => (now += ms) };
};

const ok = (url: string, revision: number): Answer => ({
  status: 200,
  body: { url },
  headers: { etag: `"${revision}"`, 'content-type': 'application/json' },
});

describe('resolve', () => {
  it('asks once, then answers from memory while the answer is younger than maxAgeMs', async () => {
    const h = harness([ok('https://a.example.com', 1)]);
    const first = await h.client.resolve(ROUTE);
    const second = await h.client.resolve(ROUTE);
    expect(first).toEqual({ url: 'https://a.example.com', etag: '"1"', source: 'api' });
    expect(second).toEqual({ url: 'https://a.example.com', etag: '"1"', source: 'cache' });
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]!.url.pathname).toBe('/prod/api/v1/routes/resolve');
    expect(Object.fromEntries(h.sent[0]!.url.searchParams)).toEqual(ROUTE);
    expect(h.sent[0]!.headers.authorization).toBe('Bearer tm_test');
    expect(h.client.stats()).toMatchObject({ requests: 1, misses: 1, hits: 1 });
  });

  it('revalidates an older answer with If-None-Match and keeps it on 304', async () => {
    const h = harness([ok('https://a.example.com', 4), { status: 304, headers: { etag: '"4"' } }]);
    await h.client.resolve(ROUTE);
    h.advance(1_000);
    const again = await h.client.resolve(ROUTE);
    expect(h.sent[1]!.headers['if-none-match']).toBe('"4"');
    expect(again).toEqual({ url: 'https://a.example.com', etag: '"4"', source: 'revalidated' });
    expect(h.client.stats()).toMatchObject({ revalidations: 1, refreshes: 0 });
    expect(await h.client.resolve(ROUTE)).toMatchObject({ source: 'cache' });
  });

  it('takes the new answer when the route changed, and null when it is gone (404, no ETag)', async () => {
    const h = harness([
      ok('https://a.example.com', 1),
      ok('https://b.example.com', 2),
      { status: 404, body: { error: 'route_not_found', message: 'no active route' } },
    ]);
    await h.client.resolve(ROUTE);
    h.advance(1_000);
    expect(await h.client.resolve(ROUTE)).toMatchObject({ url: 'https://b.example.com', source: 'api' });
    h.advance(1_000);
    expect(await h.client.resolve(ROUTE)).toBeNull();
    expect(await h.client.resolve(ROUTE)).toBeNull(); // remembered for negativeMaxAgeMs
    expect(h.sent).toHaveLength(3);
    expect(h.sent[2]!.headers['if-none-match']).toBe('"2"');
    expect(h.client.stats()).toMatchObject({ refreshes: 2, hits: 1 });
  });

  it('makes one request for concurrent lookups of one route', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let calls = 0;
    const fetch = (async () => {
      calls++;
      await gate;
      return new Response(JSON.stringify({ url: 'https://a.example.com' }), { headers: { etag: '"1"' } });
    }) as unknown as typeof globalThis.fetch;
    const h = harness([], { fetch });
    const answers = Promise.all(Array.from({ length: 50 }, () => h.client.resolve(ROUTE)));
    const other = h.client.resolve({ ...ROUTE, version: 'v2' });
    release();
    expect(new Set((await answers).map((a) => a?.url))).toEqual(new Set(['https://a.example.com']));
    await other;
    expect(calls).toBe(2);
    expect(h.client.stats()).toMatchObject({ coalesced: 49, requests: 2 });
  });

  it("ends only the aborting caller's wait, not the shared lookup other callers joined", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const fetch = (async (_url: string, init: RequestInit) => {
      await gate;
      expect(init.signal?.aborted).toBe(false);
      return new Response(JSON.stringify({ url: 'https://a.example.com' }), { headers: { etag: '"1"' } });
    }) as unknown as typeof globalThis.fetch;
    const h = harness([], { fetch });
    const controller = new AbortController();
    const leaving = h.client.resolve(ROUTE, { signal: controller.signal });
    const staying = h.client.resolve(ROUTE);
    controller.abort();
    await expect(leaving).rejects.toBeInstanceOf(AbortedError);
    release();
    expect(await staying).toMatchObject({ url: 'https://a.example.com', source: 'api' });
  });

  it('serves the last good answer while the API fails, within staleIfErrorMs of its confirmation', async () => {
    const h = harness([ok('https://a.example.com', 1)], { retry: { maxAttempts: 1 } });
    await h.client.resolve(ROUTE);
    h.advance(59_000);
    h.sent.length = 0;
    const stale = await h.client.resolve(ROUTE); // the script is exhausted: 500
    expect(stale).toEqual({ url: 'https://a.example.com', etag: '"1"', source: 'stale' });
    expect(h.events).toContainEqual({ type: 'stale', route: 't/s/prod/v1', ageMs: 59_000 });
    h.advance(1_001);
    await expect(h.client.resolve(ROUTE)).rejects.toBeInstanceOf(ServerError);
    expect(h.client.stats()).toMatchObject({ staleAnswers: 1, errors: 2 });
  });

  it('covers a timeout with the stale answer too, but never an auth error', async () => {
    const h = harness([ok('https://a.example.com', 1), 'hang'], {
      timeoutMs: 50,
      now: Date.now,
      sleep: async () => {},
      cache: { maxAgeMs: 0 },
    });
    await h.client.resolve(ROUTE);
    expect(await h.client.resolve(ROUTE)).toMatchObject({ source: 'stale' });
    const denied = harness([ok('https://a.example.com', 1), { status: 403, body: { error: 'forbidden' } }], {
      cache: { maxAgeMs: 0 },
    });
    await denied.client.resolve(ROUTE);
    await expect(denied.client.resolve(ROUTE)).rejects.toBeInstanceOf(AuthError);
  });
});

describe('retries', () => {
  it('retries 5xx and network failures with full-jitter backoff, then answers', async () => {
    const h = harness([{ status: 503 }, 'refused', { status: 502 }, ok('https://a.example.com', 1)]);
    expect(await h.client.resolve(ROUTE)).toMatchObject({ source: 'api' });
    expect(h.waits).toEqual([50, 100, 200]); // random 0.5 of bounds 100, 200, 400
    expect(h.events.filter((e) => e.type === 'retry').map((e) => e.type === 'retry' && e.reason)).toEqual([
      503,
      'network',
      502,
    ]);
  });

  it('waits at least Retry-After on a 429', async () => {
    const h = harness([
      { status: 429, headers: { 'retry-after': '2' }, body: { error: 'rate_limited' } },
      ok('https://a.example.com', 1),
    ]);
    await h.client.resolve(ROUTE);
    expect(h.waits).toHaveLength(1);
    expect(h.waits[0]).toBeGreaterThanOrEqual(2_000);
  });

  it('gives up at once when Retry-After is beyond the call budget', async () => {
    const h = harness([{ status: 429, headers: { 'retry-after': '30' }, body: { error: 'rate_limited' } }], {
      timeoutMs: 5_000,
    });
    const err = await h.client.listRoutes({ tenant: 't' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(30_000);
    expect(h.waits).toEqual([]);
  });

  it('stops after maxAttempts and reports the last answer', async () => {
    const h = harness([{ status: 500 }, { status: 500 }, { status: 500 }], { retry: { maxAttempts: 3 } });
    const err = await h.client.getHealth().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerError);
    expect((err as ServerError).attempts).toBe(3);
    expect(h.sent).toHaveLength(3);
  });

  it('does not retry what a retry cannot fix (404, 412, 400)', async () => {
    const h = harness([
      { status: 404, body: { error: 'route_not_found' } },
      { status: 412, body: { error: 'precondition_failed', current_revision: 3 } },
    ]);
    await expect(h.client.getRoute(ROUTE)).rejects.toBeInstanceOf(NotFoundError);
    const err = await h.client.activateRoute(ROUTE, { ifMatch: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PreconditionFailedError);
    expect((err as PreconditionFailedError).currentRevision).toBe(3);
    expect(h.sent).toHaveLength(2);
  });

  it('fails with UnavailableError when no answer comes within the call budget', async () => {
    const h = harness(['hang'], { timeoutMs: 50, now: Date.now, sleep: async () => {} });
    const err = await h.client.getHealth().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).code).toBe('timeout');
  });
});

describe('writes', () => {
  it('sends one Idempotency-Key per logical write, the same on every retry of it', async () => {
    const created = { status: 201, body: { outcome: 'created', route: { ...ROUTE, revision: 1 } } };
    const h = harness([{ status: 503 }, 'refused', created, created]);
    await h.client.createRoute({ ...ROUTE, url: 'https://a.example.com' });
    await h.client.createRoute({ ...ROUTE, url: 'https://a.example.com' });
    const keys = h.sent.map((s) => s.headers['idempotency-key']);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys.slice(0, 3)).toEqual([keys[0], keys[0], keys[0]]);
    expect(keys[3]).not.toBe(keys[0]);
  });

  it('sends If-Match as an entity tag, If-None-Match: * for create-only, and a given key as is', async () => {
    const h = harness([{ status: 200 }, { status: 201 }]);
    await h.client.rollbackRoute({ ...ROUTE, to_revision: 2 }, { ifMatch: 5, idempotencyKey: 'deploy-42' });
    await h.client.createRoute({ ...ROUTE, url: 'https://a.example.com' }, { createOnly: true });
    expect(h.sent[0]!.headers).toMatchObject({ 'if-match': '"5"', 'idempotency-key': 'deploy-42' });
    expect(h.sent[0]!.body).toEqual({ ...ROUTE, to_revision: 2 });
    expect(h.sent[1]!.headers['if-none-match']).toBe('*');
  });

  it('retries a waiting duplicate (409 idempotency_in_progress) until the first outcome is stored', async () => {
    const h = harness([
      { status: 409, body: { error: 'idempotency_in_progress' } },
      { status: 200, body: { outcome: 'activated' } },
    ]);
    expect(await h.client.activateRoute(ROUTE)).toEqual({ outcome: 'activated' });
    expect(h.sent).toHaveLength(2);
  });

  it('retries a token create only when it surely did not run (429, connection refused), not on a 5xx', async () => {
    const body = { principal: 'ci', role: 'writer' as const, tenants: ['t'] };
    const h = harness([
      { status: 429, headers: { 'retry-after': '1' } },
      'refused',
      { status: 201, body: { secret: 's' } },
    ]);
    expect(await h.client.createToken(body)).toEqual({ secret: 's' });
    const failing = harness([{ status: 503 }, { status: 201 }]);
    await expect(failing.client.createToken(body)).rejects.toBeInstanceOf(ServerError);
    expect(failing.sent).toHaveLength(1);
  });

  it("forgets the written route's cached answer, so the next resolve reads the write", async () => {
    const h = harness([
      ok('https://a.example.com', 1),
      { status: 200, body: {} },
      ok('https://b.example.com', 2),
    ]);
    await h.client.resolve(ROUTE);
    await h.client.createRoute({ ...ROUTE, url: 'https://b.example.com' });
    expect(await h.client.resolve(ROUTE)).toMatchObject({ url: 'https://b.example.com', source: 'api' });
  });
});

describe('writes of batches and splits', () => {
  const SERVICE = { tenant: 't', service: 's', env: 'prod' };

  it('sends a batch with one Idempotency-Key reused on its retries, and a refusal carries every failure', async () => {
    const operations = [
      { op: 'create' as const, ...ROUTE, url: 'https://a.example.com' },
      { op: 'deactivate' as const, ...ROUTE, version: 'v0' },
    ];
    const applied = { status: 200, body: { batch_id: 'b', results: [] } };
    const refused = {
      status: 409,
      body: { error: 'batch_conflict', message: 'm', failures: [{ index: 1, error: 'duplicate_route' }] },
    };
    const h = harness([{ status: 503 }, applied, refused]);
    expect(await h.client.batchRoutes({ operations })).toEqual({ batch_id: 'b', results: [] });
    expect(h.sent.map((s) => [s.method, s.url.pathname])).toEqual([
      ['POST', '/prod/api/v1/routes/batch'],
      ['POST', '/prod/api/v1/routes/batch'],
    ]);
    expect(h.sent[0]!.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(h.sent[1]!.headers['idempotency-key']).toBe(h.sent[0]!.headers['idempotency-key']);
    expect(h.sent[0]!.body).toEqual({ operations });
    const err = await h.client.batchRoutes({ operations }, { idempotencyKey: 'release-7' }).catch((e) => e);
    expect(err).toMatchObject({ status: 409, code: 'batch_conflict' });
    expect(err.body.failures).toEqual([{ index: 1, error: 'duplicate_route' }]);
    expect(h.sent[2]!.headers['idempotency-key']).toBe('release-7');
  });

  it('puts a split with PUT, If-Match or If-None-Match: *, and deletes it with its key in the query', async () => {
    const h = harness([{ status: 503 }, { status: 201, body: { outcome: 'created' } }, { status: 200 }]);
    await h.client.putSplit({ ...SERVICE, weights: { v1: 90, v2: 10 } }, { createOnly: true });
    await h.client.deleteSplit(SERVICE, { ifMatch: 3 });
    expect(h.sent.map((s) => s.method)).toEqual(['PUT', 'PUT', 'DELETE']);
    expect(h.sent[0]!.headers['if-none-match']).toBe('*');
    expect(h.sent[1]!.headers['idempotency-key']).toBe(h.sent[0]!.headers['idempotency-key']);
    expect(h.sent[1]!.body).toEqual({ ...SERVICE, weights: { v1: 90, v2: 10 } });
    expect(h.sent[2]!.url.pathname).toBe('/prod/api/v1/splits');
    expect(Object.fromEntries(h.sent[2]!.url.searchParams)).toEqual(SERVICE);
    expect(h.sent[2]!.headers).toMatchObject({ 'if-match': '"3"' });
    expect(h.sent[2]!.body).toBeUndefined();
  });
});

describe('resolveByKey (resolve without a version)', () => {
  const SERVICE = { tenant: 't', service: 's', env: 'prod' };
  const chosen = (version: string, sticky = true, revision = 1): Answer => ({
    status: 200,
    body: { url: `https://${version}.example.com`, version, split_revision: revision, sticky },
  });

  it('sends the key as X-Route-Key without a version, and keeps the answer per key for maxAgeMs', async () => {
    const h = harness([chosen('v2'), chosen('v3'), chosen('v2', true, 2)]);
    const first = await h.client.resolveByKey(SERVICE, { key: 'user-1' });
    expect(first).toEqual({
      url: 'https://v2.example.com',
      version: 'v2',
      splitRevision: 1,
      sticky: true,
      source: 'api',
    });
    expect(await h.client.resolveByKey(SERVICE, { key: 'user-1' })).toMatchObject({ source: 'cache' });
    expect(await h.client.resolveByKey(SERVICE, { key: 'user-2' })).toMatchObject({ version: 'v3' });
    expect(h.sent).toHaveLength(2);
    expect(Object.fromEntries(h.sent[0]!.url.searchParams)).toEqual(SERVICE);
    expect(h.sent[0]!.headers['x-route-key']).toBe('user-1');
    expect(h.sent[0]!.headers['if-none-match']).toBeUndefined();
    h.advance(1_000);
    // No ETag: past maxAgeMs it is asked again in full, not revalidated.
    expect(await h.client.resolveByKey(SERVICE, { key: 'user-1' })).toMatchObject({ splitRevision: 2 });
    expect(h.sent[2]!.headers['if-none-match']).toBeUndefined();
  });

  it('never caches a keyless (random) answer, and answers null for no_split', async () => {
    const h = harness([
      chosen('v2', false),
      chosen('v3', false),
      { status: 404, body: { error: 'no_split', message: 'no split' } },
    ]);
    expect(await h.client.resolveByKey(SERVICE)).toMatchObject({ version: 'v2', sticky: false });
    expect(await h.client.resolveByKey(SERVICE)).toMatchObject({ version: 'v3', source: 'api' });
    expect(h.sent[0]!.headers['x-route-key']).toBeUndefined();
    expect(await h.client.resolveByKey(SERVICE, { key: 'k' })).toBeNull();
    expect(await h.client.resolveByKey(SERVICE, { key: 'k' })).toBeNull(); // negativeMaxAgeMs
    expect(h.sent).toHaveLength(3);
  });

  it('serves the last keyed answer while the API fails, within staleIfErrorMs; nothing stale without a key', async () => {
    const h = harness([chosen('v2'), ...Array.from({ length: 8 }, () => ({ status: 503 }))], {
      retry: { maxAttempts: 2 },
    });
    await h.client.resolveByKey(SERVICE, { key: 'k' });
    h.advance(30_000);
    expect(await h.client.resolveByKey(SERVICE, { key: 'k' })).toMatchObject({
      version: 'v2',
      source: 'stale',
    });
    await expect(h.client.resolveByKey(SERVICE)).rejects.toBeInstanceOf(ServerError);
    h.advance(31_000);
    await expect(h.client.resolveByKey(SERVICE, { key: 'k' })).rejects.toBeInstanceOf(ServerError);
    expect(h.client.stats().staleAnswers).toBe(1);
  });

  it("forgets the service's keyed answers when this client writes its split or one of its routes", async () => {
    const h = harness([
      chosen('v2'),
      { status: 200, body: {} },
      chosen('v3', true, 2),
      { status: 200, body: {} },
      chosen('v3', true, 3),
    ]);
    await h.client.resolveByKey(SERVICE, { key: 'k' });
    await h.client.putSplit({ ...SERVICE, weights: { v3: 100 } });
    expect(await h.client.resolveByKey(SERVICE, { key: 'k' })).toMatchObject({
      version: 'v3',
      source: 'api',
    });
    await h.client.batchRoutes({
      operations: [{ op: 'create', ...SERVICE, version: 'v3', url: 'https://v3b.example.com' }],
    });
    expect(await h.client.resolveByKey(SERVICE, { key: 'k' })).toMatchObject({ splitRevision: 3 });
  });

  it('makes one request for concurrent lookups of one key', async () => {
    let calls = 0;
    const fetch = (async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      return new Response(
        JSON.stringify({ url: 'https://v2.example.com', version: 'v2', split_revision: 1, sticky: true }),
      );
    }) as unknown as typeof globalThis.fetch;
    const h = harness([], { fetch });
    await Promise.all(Array.from({ length: 20 }, () => h.client.resolveByKey(SERVICE, { key: 'k' })));
    expect(calls).toBe(1);
    expect(h.client.stats().coalesced).toBe(19);
  });
});
