import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRoutes, isPublic } from '#functions/route-table';
import { HmacTokenHasher, newTokenParts } from '#shared/adapters/auth/token-hasher.hmac';
import { MongoAuditStore } from '#shared/adapters/mongo/audit-store.mongo';
import { createMongoClient } from '#shared/adapters/mongo/mongo-client.mongo';
import { getTokenStore } from '#shared/composition/token-clients';
import { getConfig } from '#shared/config/config';
import { formatToken } from '#shared/domain/auth';
import { createToken } from '#shared/use-cases/manage-tokens.use-case';
import { toAuditRecord } from '#shared/use-cases/record-audit.use-case';
import { uniqueRouteKey } from '#test/support/fixtures';
import { type RunningApi, startLocalApi } from '#test/support/local-runner';
import { sharedMongoUrl, uniqueMongoDatabase } from '#test/support/mongo';
import { rawRequest } from '#test/support/raw-http';
import { routeEvent } from '../../unit/events/event-fakes.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const ADMIN = formatToken(newTokenParts());
const METRICS_TOKEN = `metrics-${formatToken(newTokenParts())}`;
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const mongoDatabase = uniqueMongoDatabase('security');
let api: RunningApi;

/** Every secret this file creates or sends: none may ever show up in the runner's output. */
const secrets: string[] = [ADMIN, METRICS_TOKEN];

interface Call {
  method?: string;
  path: string;
  token?: string | null;
  body?: unknown;
  query?: Record<string, string>;
}
const call = async ({ method = 'GET', path, token = null, body, query }: Call) => {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${api.url}${path}${query ? `?${new URLSearchParams(query)}` : ''}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: JSON.parse(text) as Record<string, any> };
};

const mint = async (body: { principal: string; role: string; tenants: string[] | '*' }) => {
  const res = await call({ method: 'POST', path: '/api/v1/admin/tokens', token: ADMIN, body });
  expect(res.status, res.text).toBe(201);
  secrets.push(res.json.secret);
  return { id: res.json.token.id as string, secret: res.json.secret as string };
};

const OWN = uniqueRouteKey();
const OTHER = uniqueRouteKey();
type Credential = 'none' | 'invalid' | 'expired' | 'revoked' | 'resolver' | 'writer' | 'admin';
const CREDENTIALS: readonly Credential[] = [
  'none',
  'invalid',
  'expired',
  'revoked',
  'resolver',
  'writer',
  'admin',
];
const tokens = {} as Record<Credential, string | null>;
let throwaway = '';

beforeAll(async () => {
  api = await startLocalApi({
    AUTH_MODE: 'on',
    BOOTSTRAP_ADMIN_TOKEN: ADMIN,
    LOG_LEVEL: 'DEBUG', // as much output as there can be: none of it may carry a token
    MONGO_DATABASE: mongoDatabase,
    RATE_LIMIT_RESOLVER: '5/5',
    RATE_LIMIT_TENANT_WRITE: '2/20',
    LOCAL_EVENT_WORKERS: 'off', // no relay or consumers: audit documents are seeded directly
    METRICS_TOKEN,
  });
  const scoped = [OWN.tenant];
  tokens.none = null;
  tokens.invalid = formatToken(newTokenParts());
  tokens.resolver = (await mint({ principal: 'matrix-resolver', role: 'resolver', tenants: scoped })).secret;
  tokens.writer = (await mint({ principal: 'matrix-writer', role: 'writer', tenants: scoped })).secret;
  tokens.admin = (
    await mint({ principal: `matrix-admin-${OWN.tenant}`, role: 'admin', tenants: '*' })
  ).secret;
  const revoked = await mint({ principal: 'matrix-revoked', role: 'writer', tenants: scoped });
  await call({ method: 'POST', path: '/api/v1/admin/tokens/revoke', token: ADMIN, body: { id: revoked.id } });
  tokens.revoked = revoked.secret;
  // An expired token can only be made with a clock in the past: straight into the shared database,
  // hashed with the key the runner uses (TOKEN_HASH_KEY).
  const expired = await createToken(
    {
      store: getTokenStore(),
      hasher: new HmacTokenHasher(async () => getConfig().auth.tokenHashKey!),
      now: () => new Date(Date.now() - 2 * 86_400_000),
      newToken: newTokenParts,
    },
    { principal: 'matrix-expired', role: 'writer', tenants: scoped, expiresInDays: 1 },
    { actor: 'test', correlationId: null },
  );
  tokens.expired = expired.secret;
  secrets.push(tokens.invalid, expired.secret);
  throwaway = (await mint({ principal: `matrix-throwaway-${OWN.tenant}`, role: 'resolver', tenants: '*' }))
    .id;

  for (const key of [OWN, OTHER]) {
    const res = await call({
      method: 'POST',
      path: '/api/v1/routes',
      token: ADMIN,
      body: { ...key, url: 'https://m.example.com' },
    });
    expect(res.status).toBe(201);
  }
  // Audit documents of both tenants, stamped now (the runner's audit store is this file's database).
  const mongo = await createMongoClient({ ...getConfig().mongo, url: sharedMongoUrl() });
  await new MongoAuditStore(mongo.db(mongoDatabase)).append(
    [OWN, OTHER].map((key) =>
      toAuditRecord(
        { event: routeEvent({ action: 'created', occurredAt: new Date().toISOString() }, key) },
        new Date(),
      ),
    ),
  );
  await mongo.close();
}, 90_000);

afterAll(async () => {
  await api?.stop();
  const mongo = await createMongoClient({ ...getConfig().mongo, url: sharedMongoUrl() });
  await mongo.db(mongoDatabase).dropDatabase();
  await mongo.close();
  const { closeAllClients } = await import('#shared/composition/shutdown');
  await closeAllClients();
});

// ---- the isolation matrix -----------------------------------------------------------------------------
// Expected status per route for [resolver, writer, admin], acting on the token's own tenant and on
// another one; 2 = any 2xx the operation answers with. Missing, invalid, expired and revoked tokens get
// 401 everywhere. Routes without a tenant (audit listings, token administration) answer the same for
// both columns, and the audit listings must never show the other tenant's events to a scoped token.
const ROLES_EXPECTED: Record<string, { own: [number, number, number]; other: [number, number, number] }> = {
  'GET /api/v1/routes/resolve': { own: [200, 200, 200], other: [403, 403, 200] },
  'GET /api/v1/routes': { own: [200, 200, 200], other: [403, 403, 200] },
  'GET /api/v1/routes/detail': { own: [200, 200, 200], other: [403, 403, 200] },
  // Splits (issue 14), in table order: GET before any split (404 no_split once allowed), PUT (the writer
  // creates, the admin's is unchanged), DELETE (the writer deletes, so the admin finds none).
  'GET /api/v1/splits': { own: [404, 404, 404], other: [403, 403, 404] },
  'PUT /api/v1/splits': { own: [403, 2, 2], other: [403, 403, 2] },
  'DELETE /api/v1/splits': { own: [403, 200, 404], other: [403, 403, 200] },
  'POST /api/v1/routes': { own: [403, 2, 2], other: [403, 403, 2] },
  'POST /api/v1/routes/activate': { own: [403, 200, 200], other: [403, 403, 200] },
  'POST /api/v1/routes/deactivate': { own: [403, 200, 200], other: [403, 403, 200] },
  // After the deactivations there is an earlier revision to restore; the admin's rollback re-deactivates.
  'POST /api/v1/routes/rollback': { own: [403, 200, 200], other: [403, 403, 200] },
  // Bulk changes (issue 15): one deactivate per batch (unchanged: the rollback left the route inactive, as
  // the rate-limit test below expects it); every tenant of the batch must be covered by the token.
  'POST /api/v1/routes/batch': { own: [403, 200, 200], other: [403, 403, 200] },
  'GET /api/v1/audit/route': { own: [403, 200, 200], other: [403, 403, 200] },
  'GET /api/v1/audit/recent': { own: [403, 200, 200], other: [403, 200, 200] },
  'GET /api/v1/audit/action': { own: [403, 200, 200], other: [403, 200, 200] },
  'GET /api/v1/audit/time-range': { own: [403, 200, 200], other: [403, 200, 200] },
  'POST /api/v1/admin/tokens': { own: [403, 403, 201], other: [403, 403, 201] },
  'GET /api/v1/admin/tokens': { own: [403, 403, 200], other: [403, 403, 200] },
  'POST /api/v1/admin/tokens/revoke': { own: [403, 403, 200], other: [403, 403, 200] },
  'GET /api/v1/admin/tokens/audit': { own: [403, 403, 200], other: [403, 403, 200] },
};

const requestFor = (method: string, path: string, key: typeof OWN): Omit<Call, 'token'> => {
  switch (`${method} ${path}`) {
    case 'GET /api/v1/routes/resolve':
    case 'GET /api/v1/routes/detail':
    case 'GET /api/v1/audit/route':
      return { path, query: { ...key } };
    case 'GET /api/v1/routes':
      return { path, query: { tenant: key.tenant } };
    case 'GET /api/v1/splits':
    case 'DELETE /api/v1/splits':
      return { method, path, query: { tenant: key.tenant, service: key.service, env: key.env } };
    case 'PUT /api/v1/splits':
      return {
        method,
        path,
        body: { tenant: key.tenant, service: key.service, env: key.env, weights: { [key.version]: 100 } },
      };
    case 'POST /api/v1/routes':
      return { method, path, body: { ...key, url: 'https://m.example.com' } };
    case 'POST /api/v1/routes/activate':
    case 'POST /api/v1/routes/deactivate':
    case 'POST /api/v1/routes/rollback':
      return { method, path, body: key };
    case 'POST /api/v1/routes/batch':
      return { method, path, body: { operations: [{ op: 'deactivate', ...key }] } };
    case 'GET /api/v1/audit/recent':
      return { path, query: { days: '1', limit: '1000' } };
    case 'GET /api/v1/audit/action':
      return { path, query: { action: 'created', limit: '1000' } };
    case 'GET /api/v1/audit/time-range':
      return {
        path,
        query: {
          start: new Date(Date.now() - 3_600_000).toISOString(),
          end: new Date(Date.now() + 60_000).toISOString(),
          limit: '1000',
        },
      };
    case 'POST /api/v1/admin/tokens':
      return { method, path, body: { principal: 'made-in-matrix', role: 'resolver', tenants: [key.tenant] } };
    case 'POST /api/v1/admin/tokens/revoke':
      return { method, path, body: { id: throwaway } };
    default:
      return { method, path };
  }
};

const expectedStatus = (route: string, credential: Credential, side: 'own' | 'other'): number => {
  if (
    credential === 'none' ||
    credential === 'invalid' ||
    credential === 'expired' ||
    credential === 'revoked'
  ) {
    return 401;
  }
  const row = ROLES_EXPECTED[route]!;
  return row[side][['resolver', 'writer', 'admin'].indexOf(credential)]!;
};

describe('the isolation matrix: every endpoint × credential × own/other tenant', () => {
  it('answers each cell as specified, in JSON', async () => {
    const guarded = httpRoutes.filter((r) => !isPublic(r));
    expect(Object.keys(ROLES_EXPECTED).sort()).toEqual(guarded.map((r) => `${r.method} ${r.path}`).sort());
    const failures: string[] = [];
    let cells = 0;
    for (const route of guarded) {
      const id = `${route.method} ${route.path}`;
      for (const credential of CREDENTIALS) {
        for (const side of ['own', 'other'] as const) {
          const res = await call({
            ...requestFor(route.method, route.path, side === 'own' ? OWN : OTHER),
            token: tokens[credential],
          });
          cells++;
          if (res.json.secret) secrets.push(res.json.secret);
          const want = expectedStatus(id, credential, side);
          const ok = want === 2 ? res.status === 200 || res.status === 201 : res.status === want;
          if (!ok)
            failures.push(`${id} as ${credential} on ${side}: ${res.status} ${res.text.slice(0, 120)}`);
          if (!SAFE_ID.test(res.headers.get('x-correlation-id') ?? '')) {
            failures.push(`${id} as ${credential} on ${side}: no X-Correlation-ID`);
          }
          if (res.status >= 400) {
            expect(res.headers.get('content-type')).toContain('application/json');
            expect(res.json.error, id).toBe(
              { 401: 'unauthorized', 403: 'forbidden' }[res.status] ?? res.json.error,
            );
          }
          // Tenant-less listings show a scoped token its own tenant's events only.
          if (res.status === 200 && Array.isArray(res.json.events) && route.path !== '/api/v1/audit/route') {
            const tenants = new Set(
              res.json.events.map((e: { route: { tenant: string } }) => e.route.tenant),
            );
            if (credential === 'writer') {
              if (tenants.has(OTHER.tenant)) failures.push(`${id} as writer shows the other tenant's events`);
              if (!tenants.has(OWN.tenant)) failures.push(`${id} as writer misses its own tenant's events`);
            }
            if (credential === 'admin' && !tenants.has(OTHER.tenant))
              failures.push(`${id} as admin misses events`);
          }
        }
      }
    }
    for (const route of httpRoutes.filter(isPublic)) {
      for (const credential of CREDENTIALS) {
        const res = await call({ path: route.path, token: tokens[credential] });
        cells++;
        if (res.status !== 200) failures.push(`${route.path} as ${credential}: ${res.status}`);
        if (!SAFE_ID.test(res.headers.get('x-correlation-id') ?? '')) {
          failures.push(`${route.path} as ${credential}: no X-Correlation-ID`);
        }
      }
    }
    console.info(`isolation matrix: ${cells} cells`);
    expect(cells).toBe(
      guarded.length * CREDENTIALS.length * 2 + httpRoutes.filter(isPublic).length * CREDENTIALS.length,
    );
    expect(failures).toEqual([]);
  }, 60_000);

  it('refuses two Authorization headers on every guarded endpoint, whatever their case (401, JSON)', async () => {
    const failures: string[] = [];
    for (const route of httpRoutes.filter((r) => !isPublic(r))) {
      const { path, query, body } = requestFor(route.method, route.path, OWN);
      const payload = body === undefined ? '' : JSON.stringify(body);
      for (const second of ['Authorization', 'aUTHORIZATION']) {
        const res = await rawRequest(
          api.url,
          `${route.method} ${path}${query ? `?${new URLSearchParams(query)}` : ''} HTTP/1.1\r\nHost: x\r\n` +
            `Authorization: Bearer ${tokens.resolver}\r\n${second}: Bearer ${tokens.admin}\r\n` +
            `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\nConnection: close`,
          payload,
        );
        const json = JSON.parse(res.body || '{}') as { error?: string };
        if (
          res.status !== 401 ||
          json.error !== 'unauthorized' ||
          !SAFE_ID.test(res.headers.get('x-correlation-id') ?? '')
        ) {
          failures.push(`${route.method} ${route.path} (${second}): ${res.status} ${res.body.slice(0, 80)}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it("records a write's author as the token's principal, whatever X-Changed-By says", async () => {
    const res = await fetch(`${api.url}/api/v1/routes`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tokens.writer}`,
        'content-type': 'application/json',
        'x-changed-by': 'someone-else',
      },
      body: JSON.stringify({ ...OWN, url: 'https://author.example.com' }),
    });
    expect(res.status).toBe(200);
    const { rows } = await (await import('#shared/composition/clients'))
      .getPgPool()
      .query(
        'SELECT changed_by, changed_by_token_id FROM route_events WHERE tenant = $1 ORDER BY id DESC LIMIT 1',
        [OWN.tenant],
      );
    // The name and, beside it, the acting token's id (issue 16.2): tm_<id>_<secret>.
    expect(rows[0]).toEqual({
      changed_by: 'matrix-writer',
      changed_by_token_id: tokens.writer!.split('_')[1],
    });
  });
});

describe('rate limits over HTTP', () => {
  it("answers 429 + Retry-After past a token's bucket; another token of the same tenant is unaffected", async () => {
    const first = (await mint({ principal: 'rl-resolver-1', role: 'resolver', tenants: [OWN.tenant] }))
      .secret;
    const second = (await mint({ principal: 'rl-resolver-2', role: 'resolver', tenants: [OWN.tenant] }))
      .secret;

    const burst = await Promise.all(
      Array.from({ length: 15 }, () =>
        call({ path: '/api/v1/routes/resolve', query: { ...OWN }, token: first }),
      ),
    );

    // The matrix left the route inactive: admitted resolves answer 404, refused ones 429.
    const limited = burst.filter((r) => r.status === 429);
    expect(burst.filter((r) => r.status === 404).length).toBeGreaterThanOrEqual(5);
    expect(limited.length).toBeGreaterThanOrEqual(5);
    expect(limited[0]!.json).toMatchObject({ error: 'rate_limited', scope: 'token' });
    expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await call({ path: '/api/v1/routes/resolve', query: { ...OWN }, token: second })).status).toBe(
      404,
    );
  });

  it("limits a tenant's writes across its tokens, without touching another tenant", async () => {
    const C = uniqueRouteKey();
    const D = uniqueRouteKey();
    const one = (await mint({ principal: 'rl-writer-1', role: 'writer', tenants: [C.tenant, D.tenant] }))
      .secret;
    const two = (await mint({ principal: 'rl-writer-2', role: 'writer', tenants: [C.tenant] })).secret;

    const started = performance.now();
    const writes = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        call({
          method: 'POST',
          path: '/api/v1/routes',
          token: i % 2 ? one : two,
          body: { ...C, version: `v${i}`, url: 'https://c.example.com' },
        }),
      ),
    );

    const seconds = (performance.now() - started) / 1000;
    // The tenant's bucket (2/20): its burst of 20, plus 2 a second for as long as the 40 took (a loaded
    // machine stretches that), plus one refill of slack for the clock; anything past that went unlimited.
    expect(writes.filter((w) => w.status === 201).length).toBeGreaterThanOrEqual(20);
    expect(writes.filter((w) => w.status === 201).length).toBeLessThanOrEqual(
      20 + Math.ceil(2 * seconds) + 1,
    );
    expect(writes.find((w) => w.status === 429)?.json).toMatchObject({ scope: 'tenant' });
    const elsewhere = await call({
      method: 'POST',
      path: '/api/v1/routes',
      token: one,
      body: { ...D, url: 'https://d.example.com' },
    });
    expect(elsewhere.status).toBe(201);

    const metrics = await (
      await fetch(`${api.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    ).text();
    expect(metrics).toMatch(/rate_limited_total\{scope="tenant"\} [1-9]/);
    expect(metrics).toMatch(/rate_limited_total\{scope="token"\} [1-9]/);
  });
});

describe('/metrics with auth on (issue 16.7)', () => {
  it('answers only the METRICS_TOKEN, and counts refused tokens without saying why', async () => {
    for (const authorization of [undefined, `Bearer ${ADMIN}`, `Bearer ${METRICS_TOKEN}x`]) {
      const res = await fetch(`${api.url}/metrics`, { headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get('x-correlation-id')).toMatch(SAFE_ID);
      expect(await res.json()).toMatchObject({ error: 'unauthorized' });
    }
    await call({ path: '/api/v1/routes/resolve', token: tokens.revoked, query: { ...OWN } });

    const res = await fetch(`${api.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    const text = await res.text();

    expect(res.status).toBe(200);
    expect(text).toMatch(/^auth_rejected_total [1-9]/m);
    expect(text).not.toMatch(/auth_rejected_total\{/);
  });
});

describe('secrets', () => {
  it('never writes a token, or the hash key, to the runner’s output (stdout and stderr, DEBUG logs)', async () => {
    // A refused token with a recognisable secret, and one in a header the logger might pick up.
    const marked = `tm_${'a'.repeat(16)}_${'LeakCanary'.repeat(4)}xyz`;
    secrets.push(marked);
    await call({ path: '/api/v1/routes/resolve', query: { ...OWN }, token: marked });
    await call({
      method: 'POST',
      path: '/api/v1/routes',
      token: tokens.writer,
      body: { ...OWN, url: 'bad url' },
    });
    await new Promise((r) => setTimeout(r, 500));

    const output = api.output();
    expect(output.length).toBeGreaterThan(1000);
    expect(output).toContain('auth is ON');
    expect(output).toContain(`id ${ADMIN.slice(3, 19)}`);
    for (const secret of secrets) {
      expect(output.includes(secret), 'a token in the output').toBe(false);
      expect(output.includes(secret.slice(20)), "a token's secret part in the output").toBe(false);
    }
    expect(output.includes(getConfig().auth.tokenHashKey!)).toBe(false);
  });
});

describe('starting the runner', () => {
  it('refuses auth off on an address other machines can reach, saying why and how', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/local/start.ts'], {
      cwd: root,
      env: { ...process.env, API_HOST: '0.0.0.0', API_PORT: '0', AUTH_MODE: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c));
    child.stderr.on('data', (c: Buffer) => (output += c));
    const code = await new Promise<number | null>((ok) => child.once('exit', ok));
    expect(code).toBe(1);
    expect(output).toMatch(/refusing to start with AUTH_MODE=off on API_HOST=0\.0\.0\.0/);
    expect(output).not.toContain('API listening');
  });
});
