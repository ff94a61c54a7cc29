import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteKey } from '#client/api';
import { TrafficManagerClient } from '#client/client';
import {
  AuthError,
  BadRequestError,
  ConflictError,
  NotFoundError,
  PreconditionFailedError,
  ServerError,
  UnavailableError,
} from '#client/errors';
import { newTokenParts } from '#shared/adapters/auth/token-hasher.hmac';
import { formatToken } from '#shared/domain/auth';
import { ClientProxy } from '#test/support/client-proxy';
import { uniqueRouteKey } from '#test/support/fixtures';
import { eventually, sharedKafkaBrokers } from '#test/support/kafka';
import { sharedMongoUrl } from '#test/support/mongo';
import { type EventsRunner, startEventsRunner } from '../events/runner.ts';

// The TypeScript client (clients/typescript) against the sources runner with auth on, its own database,
// topic and audit store. A proxy in front of the runner counts what the client sends, and is killed or
// made to hang or lose an answer for the outage tests; the last test stops the runner itself.

const ADMIN = formatToken(newTokenParts());
let runner: EventsRunner;
let proxy: ClientProxy;

beforeAll(async () => {
  runner = await startEventsRunner('client', {
    kafkaBrokers: sharedKafkaBrokers(),
    mongoUrl: sharedMongoUrl(),
    // A resolver token may resolve twice, then once a second: the Retry-After test meets the limit.
    extra: { AUTH_MODE: 'on', BOOTSTRAP_ADMIN_TOKEN: ADMIN, RATE_LIMIT_RESOLVER: '1/2' },
  });
  proxy = await new ClientProxy(runner.api.url).start();
}, 120_000);

afterAll(async () => {
  await proxy?.kill();
  await runner?.stop();
});

/** A client through the proxy, admin unless told otherwise. */
const client = (options: Partial<ConstructorParameters<typeof TrafficManagerClient>[0]> = {}) =>
  new TrafficManagerClient({ baseUrl: proxy.url, token: ADMIN, ...options });

const createRoute = async (key: RouteKey, url = 'https://v1.example.com/') =>
  (await client().createRoute({ ...key, url })).route;

describe('the client against the running API', () => {
  it('creates, reads, lists, changes and rolls back a route, with typed answers', async () => {
    const tm = client();
    const key = uniqueRouteKey();
    const created = await tm.createRoute({ ...key, url: 'https://v1.example.com/' }, { createOnly: true });
    expect(created).toMatchObject({ outcome: 'created', route: { ...key, is_active: true, revision: 1 } });
    await tm.createRoute({ ...key, url: 'https://v2.example.com/' }, { ifMatch: created.route.revision });
    await tm.createRoute({ ...key, version: 'v3', url: 'https://v3.example.com/' });
    expect((await tm.deactivateRoute(key)).route).toMatchObject({ is_active: false, revision: 3 });
    expect((await tm.activateRoute(key)).outcome).toBe('activated');

    const detail = await tm.getRoute(key);
    expect(detail).toMatchObject({ url: 'https://v2.example.com/', revision: 4, created_by: 'local-admin' });
    const rolledBack = await tm.rollbackRoute({ ...key, to_revision: 1 });
    expect(rolledBack).toMatchObject({ outcome: 'rolled_back', restored_revision: 1 });
    expect(rolledBack.route).toMatchObject({ url: 'https://v1.example.com/', revision: 5 });

    const page = await tm.listRoutes({ tenant: key.tenant, limit: 1 });
    expect(page.routes.map((r) => r.version)).toEqual(['v2']);
    expect(page.next_cursor).toEqual(expect.any(String));
    const all = [];
    for await (const route of tm.listAllRoutes({ tenant: key.tenant, limit: 1 })) all.push(route.version);
    expect(all).toEqual(['v2', 'v3']);
    expect((await tm.listRoutes({ tenant: key.tenant, active: false })).routes).toEqual([]);
  });

  it('turns the API refusals into typed errors', async () => {
    const tm = client();
    const key = uniqueRouteKey();
    await createRoute(key);
    const stale = await tm.activateRoute(key, { ifMatch: 7 }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(PreconditionFailedError);
    expect((stale as PreconditionFailedError).currentRevision).toBe(1);
    await expect(
      tm.createRoute({ ...key, url: 'https://x.example.com/' }, { createOnly: true }),
    ).rejects.toThrow(PreconditionFailedError);
    await expect(tm.rollbackRoute(key)).rejects.toMatchObject({ code: 'nothing_to_roll_back' });
    await expect(tm.rollbackRoute(key)).rejects.toBeInstanceOf(ConflictError);
    await expect(tm.getRoute({ ...key, version: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
    const bad = await tm.createRoute({ ...key, url: 'ftp://x' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(BadRequestError);
    expect(bad).toMatchObject({ status: 400, code: 'validation_error', body: { field: 'url' } });
    await expect(client({ token: formatToken(newTokenParts()) }).getRoute(key)).rejects.toMatchObject({
      status: 401,
    });
    expect(await tm.resolve({ ...key, version: 'nope' })).toBeNull();
  });

  it('administers tokens, and a resolver token may read but not write its tenant', async () => {
    const admin = client();
    const key = uniqueRouteKey();
    await createRoute(key);
    const made = await admin.createToken({
      principal: `client-e2e-${key.tenant}`,
      role: 'resolver',
      tenants: [key.tenant],
    });
    expect(made.token).toMatchObject({ role: 'resolver', tenants: [key.tenant], status: 'active' });
    const resolver = client({ token: made.secret });
    expect(await resolver.resolve(key)).toMatchObject({ url: 'https://v1.example.com/' });
    const denied = await resolver.deactivateRoute(key).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(AuthError);
    expect((denied as AuthError).status).toBe(403);

    expect((await admin.listTokens()).tokens.map((t) => t.id)).toContain(made.token.id);
    expect((await admin.revokeToken({ id: made.token.id })).outcome).toBe('revoked');
    expect((await admin.revokeToken({ id: made.token.id })).outcome).toBe('unchanged');
    const trail = await admin.getTokenAudit({ token_id: made.token.id });
    expect(trail.entries.map((e) => e.action).sort()).toEqual(['created', 'revoked']);
    await expect(client({ token: made.secret }).getRoute(key)).rejects.toMatchObject({ status: 401 });
  });

  it('reads the audit trail by route, recency, action and time range', async () => {
    const tm = client();
    const key = uniqueRouteKey();
    const started = new Date(Date.now() - 1_000).toISOString();
    await createRoute(key);
    await tm.deactivateRoute(key);
    const trail = await eventually(async () => {
      const page = await tm.getRouteAudit({ ...key });
      return page.count === 2 && page;
    });
    expect(trail.events.map((e) => e.action)).toEqual(['deactivated', 'created']);
    const recent = await tm.getRecentAudit({ days: 1, limit: 1000 });
    expect(recent.events.some((e) => e.route.tenant === key.tenant)).toBe(true);
    const byAction = await tm.getAuditByAction({ action: 'deactivated', limit: 1000 });
    expect(byAction.events.some((e) => e.route.tenant === key.tenant)).toBe(true);
    const range = await tm.getAuditByTimeRange({
      start: started,
      end: new Date(Date.now() + 60_000).toISOString(),
    });
    expect(range.events.filter((e) => e.route.tenant === key.tenant)).toHaveLength(2);
  });

  it('reads health, readiness and the OpenAPI document', async () => {
    const tm = client({ token: undefined });
    expect(await tm.getHealth()).toMatchObject({ status: 'healthy' });
    expect(await tm.getLiveness()).toMatchObject({ status: 'alive' });
    expect((await tm.getReadiness()).checks).toHaveProperty('database');
    expect((await tm.getOpenApi()).openapi).toMatch(/^3\.1/);
  });
});

describe('bulk changes and splits through the client', () => {
  it('applies a batch (replayed under its Idempotency-Key), refusing a missing route by index', async () => {
    const tm = client();
    const key = uniqueRouteKey();
    const operations = ['v2', 'v3'].map((version) => ({
      op: 'create' as const,
      ...key,
      version,
      url: `https://${version}.example.com/`,
    }));
    const first = await tm.batchRoutes({ operations }, { idempotencyKey: `batch-${key.tenant}` });
    expect(first.results.map((r) => [r.outcome, r.route.version, r.route.revision])).toEqual([
      ['created', 'v2', 1],
      ['created', 'v3', 1],
    ]);
    const replay = await tm.batchRoutes({ operations }, { idempotencyKey: `batch-${key.tenant}` });
    expect(replay.batch_id).toBe(first.batch_id);

    const refused = await tm
      .batchRoutes({
        operations: [
          { op: 'deactivate', ...key, version: 'v2' },
          { op: 'activate', ...key, version: 'v9' },
        ],
      })
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(NotFoundError);
    expect((refused as NotFoundError).body?.failures).toEqual([
      expect.objectContaining({ index: 1, error: 'route_not_found' }),
    ]);
    expect((await tm.getRoute({ ...key, version: 'v2' })).is_active).toBe(true);
  });

  it('sets, reads and deletes a split; resolveByKey is sticky per key, reads its writes, and a guarded deactivate is a conflict', async () => {
    const tm = client();
    const key = uniqueRouteKey();
    const service = { tenant: key.tenant, service: key.service, env: key.env };
    await tm.batchRoutes({
      operations: ['v2', 'v3'].map((version) => ({
        op: 'create' as const,
        ...key,
        version,
        url: `https://${version}.example.com/`,
      })),
    });
    expect(await tm.resolveByKey(service, { key: 'user-1' })).toBeNull(); // no split (remembered)
    await expect(tm.getSplit(service)).rejects.toBeInstanceOf(NotFoundError);

    const created = await tm.putSplit({ ...service, weights: { v2: 50, v3: 50 } }, { createOnly: true });
    expect(created).toMatchObject({
      outcome: 'created',
      split: { weights: { v2: 50, v3: 50 }, revision: 1 },
    });
    await expect(
      tm.putSplit({ ...service, weights: { v2: 100 } }, { createOnly: true }),
    ).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(await tm.getSplit(service)).toMatchObject({ weights: { v2: 50, v3: 50 }, revision: 1 });

    // Its own write dropped the remembered 404: the split answers at once.
    const chosen = await tm.resolveByKey(service, { key: 'user-1' });
    expect(chosen).toMatchObject({ sticky: true, splitRevision: 1, source: 'api' });
    expect(chosen?.url).toBe(`https://${chosen?.version}.example.com/`);
    expect(await tm.resolveByKey(service, { key: 'user-1' })).toMatchObject({ source: 'cache' });
    const uncached = client({ cache: { maxAgeMs: 0 } });
    for (let i = 0; i < 3; i++) {
      expect(await uncached.resolveByKey(service, { key: 'user-1' })).toMatchObject({
        version: chosen?.version,
        source: 'api',
      });
    }
    expect(await tm.resolveByKey(service)).toMatchObject({ sticky: false, source: 'api' });

    await expect(tm.deactivateRoute({ ...key, version: 'v3' })).rejects.toMatchObject({
      status: 409,
      code: 'version_in_split',
    });
    await expect(
      tm.batchRoutes({ operations: [{ op: 'deactivate', ...key, version: 'v3' }] }),
    ).rejects.toBeInstanceOf(ConflictError);

    const moved = await tm.putSplit({ ...service, weights: { v2: 100 } }, { ifMatch: 1 });
    expect(moved).toMatchObject({ outcome: 'updated', split: { revision: 2 } });
    expect(await tm.resolveByKey(service, { key: 'user-1' })).toMatchObject({
      version: 'v2',
      splitRevision: 2,
    });
    await expect(tm.deleteSplit(service, { ifMatch: 1 })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(await tm.deleteSplit(service, { ifMatch: 2 })).toMatchObject({ outcome: 'deleted' });
    expect(await tm.resolveByKey(service, { key: 'user-1' })).toBeNull();
  });
});

describe('resolve: the in-process cache against the API', () => {
  it('sends one request, then none while fresh, then a conditional one answered 304', async () => {
    const key = uniqueRouteKey();
    await createRoute(key);
    const tm = client({ cache: { maxAgeMs: 300 } });
    const from = proxy.log.length;
    expect(await tm.resolve(key)).toMatchObject({
      url: 'https://v1.example.com/',
      etag: '"1"',
      source: 'api',
    });
    for (let i = 0; i < 100; i++) expect((await tm.resolve(key))?.source).toBe('cache');
    expect(proxy.requests('/api/v1/routes/resolve', from)).toHaveLength(1);

    await new Promise((r) => setTimeout(r, 300));
    expect(await tm.resolve(key)).toMatchObject({ source: 'revalidated', etag: '"1"' });
    const [first, second] = proxy.requests('/api/v1/routes/resolve', from);
    expect(second?.headers['if-none-match']).toBe('"1"');
    expect([first?.status, second?.status]).toEqual([200, 304]);
    expect(tm.stats()).toMatchObject({ requests: 2, misses: 1, hits: 100, revalidations: 1 });
  });

  it("sees another writer's change at the next revalidation, and a deactivation as null", async () => {
    const key = uniqueRouteKey();
    await createRoute(key);
    const tm = client({ cache: { maxAgeMs: 0, negativeMaxAgeMs: 0 } });
    await tm.resolve(key);
    await client().createRoute({ ...key, url: 'https://v2.example.com/' });
    expect(await tm.resolve(key)).toMatchObject({
      url: 'https://v2.example.com/',
      etag: '"2"',
      source: 'api',
    });
    await client().deactivateRoute(key);
    expect(await tm.resolve(key)).toBeNull();
    expect(tm.stats().refreshes).toBe(2);
  });

  it('coalesces concurrent lookups of one route into one request', async () => {
    const key = uniqueRouteKey();
    await createRoute(key);
    const tm = client();
    const from = proxy.log.length;
    const answers = await Promise.all(Array.from({ length: 200 }, () => tm.resolve(key)));
    expect(new Set(answers.map((a) => a?.url))).toEqual(new Set(['https://v1.example.com/']));
    expect(proxy.requests('/api/v1/routes/resolve', from)).toHaveLength(1);
    expect(tm.stats().coalesced).toBe(199);
  });

  it('waits out a 429 for at least its Retry-After, then answers', async () => {
    const key = uniqueRouteKey();
    await createRoute(key);
    const made = await client().createToken({
      principal: `client-limited-${key.tenant}`,
      role: 'resolver',
      tenants: [key.tenant],
    });
    const tm = client({ token: made.secret, cache: { maxAgeMs: 0 }, timeoutMs: 10_000 });
    const from = proxy.log.length;
    for (let i = 0; i < 3; i++)
      expect(await tm.resolve(key)).toMatchObject({ url: 'https://v1.example.com/' });
    const sent = proxy.requests('/api/v1/routes/resolve', from);
    const limited = sent.findIndex((e) => e.status === 429);
    expect(limited, 'the third resolve met the limit').toBeGreaterThanOrEqual(0);
    const retryAfterMs = Number(sent[limited]!.responseHeaders['retry-after']) * 1000;
    expect(retryAfterMs).toBeGreaterThanOrEqual(1000);
    const retry = sent[limited + 1]!;
    expect(retry.status).not.toBe(429);
    expect(retry.receivedAt - sent[limited]!.receivedAt).toBeGreaterThanOrEqual(retryAfterMs - 50);
    expect(tm.stats().retries).toBeGreaterThanOrEqual(1);
  });
});

describe('writes: one Idempotency-Key per logical write', () => {
  it('retries a write whose answer was lost with the same key, and the API replays instead of writing twice', async () => {
    const key = uniqueRouteKey();
    await createRoute(key);
    const tm = client();
    const from = proxy.log.length;
    proxy.mode = 'drop-answer-once';
    const res = await tm.deactivateRoute(key);
    const sent = proxy.requests('/api/v1/routes/deactivate', from);
    expect(sent).toHaveLength(2);
    expect(sent[0]!.status).toBe(200); // the API did the write; its answer never reached the client
    expect(sent[1]!.headers['idempotency-key']).toBe(sent[0]!.headers['idempotency-key']);
    expect(sent[1]!.responseHeaders['idempotent-replayed']).toBe('true');
    expect(res).toMatchObject({ outcome: 'deactivated', route: { revision: 2 } });
    expect((await tm.getRoute(key)).revision).toBe(2);
  });
});

describe('an outage of the API', () => {
  // The API, the proxy and the outage are real; only the client's clock can be moved on, so crossing the
  // stale bound does not depend on how long a loaded machine takes to stop things.
  const skewedClient = (options: Partial<ConstructorParameters<typeof TrafficManagerClient>[0]>) => {
    let skew = 0;
    const tm = client({ ...options, now: () => Date.now() + skew });
    return { tm, travel: (ms: number) => (skew += ms) };
  };

  it('serves the last good answer while the proxy is down or hangs, within staleIfErrorMs, and fails after', async () => {
    const key = uniqueRouteKey();
    await createRoute(key);
    const { tm, travel } = skewedClient({
      cache: { maxAgeMs: 100, staleIfErrorMs: 10_000 },
      timeoutMs: 500,
      retry: { maxAttempts: 2, baseDelayMs: 20 },
    });
    await tm.resolve(key);
    travel(150);

    await proxy.kill();
    expect(await tm.resolve(key)).toMatchObject({ url: 'https://v1.example.com/', source: 'stale' });
    await proxy.start();
    proxy.mode = 'hang';
    expect(await tm.resolve(key)).toMatchObject({ source: 'stale' }); // the 500 ms timeout, then stale
    await proxy.kill();
    travel(10_000);
    const after = await tm.resolve(key).catch((e: unknown) => e);
    expect(after).toBeInstanceOf(UnavailableError);
    expect(tm.stats()).toMatchObject({ staleAnswers: 2, errors: 3 });

    proxy.mode = 'forward';
    await proxy.start();
    expect(await tm.resolve(key)).toMatchObject({ source: 'revalidated' });
  });

  it('covers a stopped API (502 from what stands in front of it) the same way, then fails after the bound', async () => {
    const key = uniqueRouteKey();
    await createRoute(key);
    const { tm, travel } = skewedClient({
      cache: { maxAgeMs: 0, staleIfErrorMs: 10_000 },
      retry: { maxAttempts: 2, baseDelayMs: 20 },
    });
    await tm.resolve(key);
    expect(await runner.api.stop()).toBe(0); // drains and exits cleanly
    expect(await tm.resolve(key)).toMatchObject({ source: 'stale', url: 'https://v1.example.com/' });
    travel(10_001);
    await expect(tm.resolve(key)).rejects.toBeInstanceOf(ServerError);
    await expect(tm.getRoute(key)).rejects.toMatchObject({ status: 502 });
  });
});
