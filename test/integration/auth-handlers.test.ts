import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoAuditStore } from '#shared/adapters/mongo/audit-store.mongo';
import { createMongoClient } from '#shared/adapters/mongo/mongo-client.mongo';
import type { Principal } from '#shared/domain/auth';
import { toAuditRecord } from '#shared/use-cases/record-audit.use-case';
import { type EventInput, invoke, TEST_ADMIN, tokenPrincipal } from '#test/support/api-gateway';
import { uniqueRouteKey } from '#test/support/fixtures';
import { sharedMongoUrl, uniqueMongoDatabase } from '#test/support/mongo';
import { lambdaContext, localMethodArn, toAuthorizerEvent } from '../../scripts/local/api-gateway-event.ts';
import { routeEvent } from '../unit/events/event-fakes.ts';

// Low limits for this file only (its own process): the handlers read the configuration at import.
Object.assign(process.env, {
  RATE_LIMIT_TENANT_WRITE: '3/3',
  RATE_LIMIT_RESOLVER: '3/3',
  MONGO_DATABASE: uniqueMongoDatabase('auth_handlers'),
});
const { handler: resolve } = await import('#functions/routes/resolve-route.handler');
const { handler: upsert } = await import('#functions/routes/upsert-route.handler');
const { handler: setState } = await import('#functions/routes/set-route-state.handler');
const { handler: audit } = await import('#functions/audit/audit-query.handler');
const { handler: tokens } = await import('#functions/admin/tokens.handler');
const { handler: health } = await import('#functions/health/health.handler');
const { handler: authorizer } = await import('#functions/auth/authorizer.handler');
const { handler: bootstrap } = await import('#functions/admin/bootstrap-admin-token.handler');
const { closeAllClients } = await import('#shared/composition/shutdown');
const { getConfig } = await import('#shared/config/config');

const mongo = await createMongoClient({ ...getConfig().mongo, url: sharedMongoUrl() });
afterAll(async () => {
  await mongo.db(getConfig().mongo.database).dropDatabase();
  await mongo.close();
  await closeAllClients();
});

const A = uniqueRouteKey();
const B = uniqueRouteKey();
const writerA = tokenPrincipal({ name: 'writer-a', role: 'writer', tenants: [A.tenant] });
const resolverA = tokenPrincipal({ name: 'resolver-a', role: 'resolver', tenants: [A.tenant] });

const create = (key: object, auth: Principal | null = TEST_ADMIN) =>
  invoke(upsert, {
    method: 'POST',
    path: '/api/v1/routes',
    body: { ...key, url: 'https://a.example.com' },
    auth,
  });
const resolveQ = (key: object, auth: Principal | null = TEST_ADMIN) =>
  invoke(resolve, { path: '/api/v1/routes/resolve', query: key as Record<string, string>, auth });
const routeAudit = (key: object, auth: Principal | null) =>
  invoke(audit, { path: '/api/v1/audit/route', query: key as Record<string, string>, auth });
const admin = (input: Omit<EventInput, 'auth'>, auth: Principal | null = TEST_ADMIN) =>
  invoke(tokens, { ...input, auth });

/** Calls the real authorizer the way API Gateway does; a refusal is the error's message. */
const authorize = async (
  authorization: string | undefined | readonly (readonly [string, string])[],
  method = 'POST',
  path = '/api/v1/routes',
) => {
  const rawHeaders =
    authorization === undefined
      ? []
      : typeof authorization === 'string'
        ? ['Authorization', authorization]
        : authorization.flat();
  const event = toAuthorizerEvent({ method, rawHeaders } as never, new URL(`http://local${path}`), path);
  return authorizer(event, lambdaContext('authorizer') as Context).catch((err: Error) => err.message);
};

beforeAll(async () => {
  for (const key of [A, B]) expect((await create(key)).status).toBe(201);
  const store = new MongoAuditStore(mongo.db(getConfig().mongo.database));
  await store.append(
    [A, B].map((key) =>
      toAuditRecord(
        { event: routeEvent({ action: 'created', occurredAt: new Date().toISOString() }, key) },
        new Date(),
      ),
    ),
  );
});

describe('guarded handlers check the authorizer’s context again', () => {
  it('answer 401 with a Bearer challenge when there is no context; health stays open', async () => {
    const calls = [
      () => resolveQ(A, null),
      () => create(A, null),
      () => invoke(setState, { method: 'POST', path: '/api/v1/routes/activate', body: A, auth: null }),
      () => routeAudit(A, null),
      () => admin({ path: '/api/v1/admin/tokens' }, null),
    ];
    for (const call of calls) {
      const res = await call();
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('unauthorized');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    expect((await invoke(health, { path: '/health', auth: null })).status).toBe(200);
  });

  it('refuse a token that expired while API Gateway still had it cached (401)', async () => {
    const expired = { ...writerA, expiresAt: Date.now() - 1 };
    expect((await create(A, expired)).status).toBe(401);
  });

  it('refuse a role that does not grant the operation (403)', async () => {
    expect((await create(A, resolverA)).status).toBe(403);
    expect((await routeAudit(A, resolverA)).status).toBe(403);
    expect((await admin({ path: '/api/v1/admin/tokens' }, writerA)).body.error).toBe('forbidden');
  });
});

describe('tenant isolation', () => {
  it('lets a token act on its own tenants only, and records its principal as the author', async () => {
    expect((await resolveQ(A, writerA)).status).toBe(200);
    expect((await resolveQ(B, writerA)).status).toBe(403);
    expect((await create(B, writerA)).status).toBe(403);
    const other = await invoke(setState, {
      method: 'POST',
      path: '/api/v1/routes/deactivate',
      body: B,
      auth: writerA,
    });
    expect(other).toMatchObject({ status: 403, body: { error: 'forbidden' } });
    expect((await routeAudit(B, writerA)).status).toBe(403);
    expect((await routeAudit(A, writerA)).status).toBe(200);
  });

  it("returns only the token's tenants from the tenant-less audit queries", async () => {
    const queries: { path: string; query: Record<string, string> }[] = [
      { path: '/api/v1/audit/recent', query: { days: '1' } },
      { path: '/api/v1/audit/action', query: { action: 'created' } },
      {
        path: '/api/v1/audit/time-range',
        query: {
          start: new Date(Date.now() - 86_400_000).toISOString(),
          end: new Date(Date.now() + 60_000).toISOString(),
        },
      },
    ];
    for (const query of queries) {
      const mine = await invoke(audit, { ...query, auth: writerA });
      expect(mine.status, query.path).toBe(200);
      expect(mine.body.events.length, query.path).toBeGreaterThan(0);
      expect(new Set(mine.body.events.map((e: { route: { tenant: string } }) => e.route.tenant))).toEqual(
        new Set([A.tenant]),
      );
      const all = await invoke(audit, { ...query, auth: TEST_ADMIN });
      const tenants = new Set(all.body.events.map((e: { route: { tenant: string } }) => e.route.tenant));
      expect(tenants.has(B.tenant), query.path).toBe(true);
    }
  });

  it("does not spend another tenant's rate limit on requests it refuses", async () => {
    const C = uniqueRouteKey();
    for (let i = 0; i < 6; i++) expect((await create(C, writerA)).status).toBe(403);
    const writes = [];
    for (let i = 0; i < 3; i++) writes.push((await create({ ...C, version: `v${i}` })).status);
    expect(writes).toEqual([201, 201, 201]);
  });
});

describe('rate limits', () => {
  it("answers 429 with Retry-After once a tenant's write bucket is empty; other tenants are unaffected", async () => {
    const T = uniqueRouteKey();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push(await create({ ...T, version: `v${i}` }));
    expect(statuses.map((s) => s.status)).toEqual([201, 201, 201, 429]);
    expect(statuses[3]).toMatchObject({
      headers: { 'retry-after': expect.stringMatching(/^[1-9]\d*$/) },
      body: { error: 'rate_limited', scope: 'tenant', retry_after_seconds: expect.any(Number) },
    });
    expect((await create(uniqueRouteKey())).status).toBe(201);
  });

  it("limits each token by its role's rate, apart from other tokens", async () => {
    const one = tokenPrincipal({ role: 'resolver', tenants: [A.tenant], tokenId: randomTokenId() });
    const two = tokenPrincipal({ role: 'resolver', tenants: [A.tenant], tokenId: randomTokenId() });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push(await resolveQ(A, one));
    expect(statuses.map((s) => s.status)).toEqual([200, 200, 200, 429]);
    expect(statuses[3]?.body).toMatchObject({ error: 'rate_limited', scope: 'token' });
    expect((await resolveQ(A, two)).status).toBe(200);
  });
});

const randomTokenId = () =>
  Array.from(
    randomUUID().replaceAll('-', '').slice(0, 16),
    (c) => 'abcdefghijklmnopqrstuvwxyz234567'[parseInt(c, 16)],
  ).join('');

describe('token administration and the authorizer', () => {
  it('creates a token whose secret is shown once and then authenticates at the authorizer', async () => {
    const created = await admin({
      method: 'POST',
      path: '/api/v1/admin/tokens',
      body: { principal: 'ci@team-a', role: 'writer', tenants: [A.tenant], expires_in_days: 7 },
    });
    expect(created.status).toBe(201);
    const { secret, token } = created.body;
    expect(secret).toMatch(/^tm_[a-z2-7]{16}_[A-Za-z0-9_-]{43}$/);
    expect(token).toMatchObject({
      principal: 'ci@team-a',
      role: 'writer',
      tenants: [A.tenant],
      status: 'active',
    });
    expect(token).not.toHaveProperty('hash');

    const allowed = await authorize(`Bearer ${secret}`);
    expect(allowed).toMatchObject({
      principalId: 'ci@team-a',
      context: { principal: 'ci@team-a', role: 'writer', tenants: A.tenant, tokenId: token.id },
    });
    const resources = (allowed as { policyDocument: { Statement: { Resource: string[] }[] } }).policyDocument
      .Statement[0]!.Resource;
    expect(resources).toContain(localMethodArn('POST', '/api/v1/routes'));
    expect(resources).not.toContain(localMethodArn('POST', '/api/v1/admin/tokens'));

    const listed = await admin({ path: '/api/v1/admin/tokens' });
    expect(listed.body.tokens.map((t: { id: string }) => t.id)).toContain(token.id);
    expect(JSON.stringify(listed.body)).not.toContain(secret.slice(20));
  });

  it('revokes a token: the authorizer refuses it from then on, and the trail says who did what', async () => {
    const created = await admin({
      method: 'POST',
      path: '/api/v1/admin/tokens',
      body: { principal: `temp-${randomTokenId()}`, role: 'resolver', tenants: '*' },
    });
    const { secret, token } = created.body;
    expect(await authorize(`Bearer ${secret}`, 'GET', '/api/v1/routes/resolve')).toHaveProperty('context');

    const revoked = await admin({
      method: 'POST',
      path: '/api/v1/admin/tokens/revoke',
      body: { id: token.id },
    });
    expect(revoked).toMatchObject({
      status: 200,
      body: { outcome: 'revoked', token: { status: 'revoked' } },
    });
    expect(await authorize(`Bearer ${secret}`, 'GET', '/api/v1/routes/resolve')).toBe('Unauthorized');
    const again = await admin({
      method: 'POST',
      path: '/api/v1/admin/tokens/revoke',
      body: { id: token.id },
    });
    expect(again.body.outcome).toBe('unchanged');

    const trail = await admin({ path: '/api/v1/admin/tokens/audit', query: { token_id: token.id } });
    expect(trail.body.entries.map((e: { action: string; actor: string }) => [e.action, e.actor])).toEqual([
      ['revoked', 'test-admin'],
      ['created', 'test-admin'],
    ]);
  });

  it('refuses bad token requests with 400/404 naming the problem', async () => {
    const post = (path: string, body: unknown) => admin({ method: 'POST', path, body });
    expect(
      (await post('/api/v1/admin/tokens', { principal: 'x', role: 'admin', tenants: [A.tenant] })).body,
    ).toMatchObject({
      error: 'validation_error',
      field: 'tenants',
    });
    expect(
      (await post('/api/v1/admin/tokens', { principal: 'x', role: 'writer', tenant: 'a' })).body,
    ).toMatchObject({
      error: 'validation_error',
    });
    expect(
      (await post('/api/v1/admin/tokens', { principal: 'x', role: 'root', tenants: '*' })).body.field,
    ).toBe('role');
    expect(
      (
        await post('/api/v1/admin/tokens', {
          principal: 'x',
          role: 'writer',
          tenants: '*',
          expires_in_days: 0,
        })
      ).status,
    ).toBe(400);
    expect((await post('/api/v1/admin/tokens/revoke', { id: 'aaaaaaaaaaaaaaaa' })).body.error).toBe(
      'token_not_found',
    );
    expect((await post('/api/v1/admin/tokens/revoke', { id: { $ne: null } })).body.field).toBe('id');
    expect(
      (await post('/api/v1/admin/tokens/revoke', { id: 'aaaaaaaaaaaaaaaa', allow_last_admin: 'yes' })).body
        .field,
    ).toBe('allow_last_admin');
  });

  it('refuses reserved principal names (400) and a name another live token holds on the tenant (409)', async () => {
    const post = (body: unknown) => admin({ method: 'POST', path: '/api/v1/admin/tokens', body });
    for (const principal of ['anonymous', 'Local-Admin', 'bootstrap-admin', 'bootstrap:force']) {
      expect(
        (await post({ principal, role: 'resolver', tenants: [A.tenant] })).body,
        principal,
      ).toMatchObject({
        error: 'validation_error',
        field: 'principal',
        rule: 'reserved',
      });
    }
    const name = `ci-${randomTokenId()}`;
    expect((await post({ principal: name, role: 'writer', tenants: [A.tenant] })).status).toBe(201);
    expect((await post({ principal: name, role: 'resolver', tenants: [B.tenant] })).status).toBe(201);
    expect(await post({ principal: name, role: 'resolver', tenants: [A.tenant] })).toMatchObject({
      status: 409,
      body: { error: 'principal_taken' },
    });
  });

  it("records the acting token's id beside its name in the administration trail", async () => {
    const actor = tokenPrincipal({ name: 'ops', role: 'admin', tenants: '*', tokenId: randomTokenId() });
    const created = await admin(
      {
        method: 'POST',
        path: '/api/v1/admin/tokens',
        body: { principal: `audited-${randomTokenId()}`, role: 'resolver', tenants: [A.tenant] },
      },
      actor,
    );
    const trail = await admin({
      path: '/api/v1/admin/tokens/audit',
      query: { token_id: created.body.token.id },
    });
    expect(trail.body.entries[0]).toMatchObject({
      action: 'created',
      actor: 'ops',
      actor_token_id: actor.tokenId,
    });
  });

  it('refuses more than one Authorization header, whatever their case (401 at the authorizer, 400 at a handler)', async () => {
    const { secret } = (
      await admin({
        method: 'POST',
        path: '/api/v1/admin/tokens',
        body: { principal: `twice-${randomTokenId()}`, role: 'writer', tenants: [A.tenant] },
      })
    ).body;
    expect(await authorize(`Bearer ${secret}`)).toHaveProperty('context');
    for (const names of [
      ['Authorization', 'authorization'],
      ['authorization', 'Authorization'],
      ['Authorization', 'Authorization'],
    ]) {
      const headers = names.map((n, i) => [n, i === 0 ? `Bearer ${secret}` : 'Bearer tm_x_y'] as const);
      expect(await authorize(headers), names.join()).toBe('Unauthorized');
    }
    const both = await invoke(upsert, {
      method: 'POST',
      path: '/api/v1/routes',
      headers: { Authorization: `Bearer ${secret}`, authorization: 'Bearer other' },
      body: { ...A, url: 'https://twice.example.com/' },
    });
    expect(both).toMatchObject({ status: 400, body: { error: 'malformed_request' } });
  });

  it('refuses a missing, malformed or unknown token at the authorizer with the same Unauthorized', async () => {
    for (const header of [undefined, '', 'Bearer', 'Basic YWxhZGRpbjpvcGVuc2VzYW1l', 'Bearer tm_x_y']) {
      expect(await authorize(header), String(header)).toBe('Unauthorized');
    }
    expect(await authorize(`Bearer tm_${randomTokenId()}_${'A'.repeat(43)}`)).toBe('Unauthorized');
  });

  it('bootstraps an admin token from the operator function (forced here: other tests hold admin tokens)', async () => {
    const result = await bootstrap(
      { force: true, principal: `ops-bootstrap-${randomTokenId()}` },
      lambdaContext('bootstrap'),
    );
    expect(result).toMatchObject({ created: true, token: expect.stringMatching(/^tm_/) });
    if (!result.created) throw new Error('not created');
    expect(await authorize(`Bearer ${result.token}`, 'GET', '/api/v1/admin/tokens')).toMatchObject({
      context: { role: 'admin', tenants: '*' },
    });
    await expect(
      bootstrap({ principal: 'x', expires_in_days: 90 }, lambdaContext('bootstrap')),
    ).rejects.toThrow();
  });
});
