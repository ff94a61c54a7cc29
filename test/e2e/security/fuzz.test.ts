import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRoutes } from '#functions/route-table';
import { newTokenParts } from '#shared/adapters/auth/token-hasher.hmac';
import { formatToken } from '#shared/domain/auth';
import { uniqueRouteKey } from '#test/support/fixtures';
import { type RunningApi, startLocalApi } from '#test/support/local-runner';
import { uniqueMongoDatabase } from '#test/support/mongo';
import { rawRequest } from '#test/support/raw-http';

// Property-based fuzzing of the HTTP API through the local runner with auth on: random, huge, unicode,
// control-character and deeply nested inputs for every route. Whatever comes in: never a 5xx, never a
// hang, always a JSON error without stack traces or secrets, sane correlation ids, bounded memory.

const ADMIN = formatToken(newTokenParts());
const TENANT = uniqueRouteKey().tenant;
const REQUEST_TIMEOUT_MS = 5_000;
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const STACK_TRACE = /\bat .+:\d+:\d+|node:internal|\.ts:\d+|Error: /;
let api: RunningApi;
let writer = '';
let cases = 0;

const rssBytes = (): number => {
  const status = readFileSync(`/proc/${api.process.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
};

beforeAll(async () => {
  api = await startLocalApi({
    AUTH_MODE: 'on',
    BOOTSTRAP_ADMIN_TOKEN: ADMIN,
    MONGO_DATABASE: uniqueMongoDatabase('fuzz'),
    LOG_LEVEL: 'ERROR',
    LOCAL_EVENT_WORKERS: 'off', // no relay or consumers: audit documents are seeded directly
  });
  const res = await fetch(`${api.url}/api/v1/admin/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ principal: 'fuzz-writer', role: 'writer', tenants: [TENANT] }),
  });
  writer = ((await res.json()) as { secret: string }).secret;
}, 90_000);

afterAll(async () => {
  await api?.stop();
});

/** What every answer must look like, whatever was sent. */
const checkAnswer = (status: number, headers: Headers | Map<string, string>, body: string, what: string) => {
  cases++;
  expect(status, `${what} → ${status} ${body.slice(0, 200)}`).toBeLessThan(500);
  expect(status, what).toBeGreaterThanOrEqual(200);
  // Every answer carries one (issue 16.6): the runner's own 404/405/413/431/400 and the authorizer's too.
  expect(headers.get('x-correlation-id') ?? null, what).toMatch(SAFE_ID);
  expect(headers.get('set-cookie') ?? null, what).toBeNull();
  if (status >= 400) {
    expect(headers.get('content-type'), what).toContain('application/json');
    const json = JSON.parse(body) as { error?: unknown; message?: unknown };
    expect(typeof json.error, what).toBe('string');
    expect(typeof json.message, what).toBe('string');
  }
  expect(body, what).not.toMatch(STACK_TRACE);
  for (const secret of [ADMIN, writer])
    expect(body.includes(secret.slice(20)), `${what}: a secret`).toBe(false);
};

// ---- arbitraries ------------------------------------------------------------------------------------------

const text = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 3_000, maxLength: 6_000 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "'; DROP TABLE endpoints; --",
      "' OR '1'='1",
      '1; SELECT pg_sleep(10)',
      '{"$ne": null}',
      '{"$where": "sleep(10000)"}',
      '$gt',
      '../../etc/passwd',
      '%00',
      '\u0000\u0001\u001f\u007f',
      '\u202e\u2066evil',
      '𝓽𝓮𝓷𝓪𝓷𝓽',
      'team-a',
      TENANT,
      'payments',
      'https://a.example.com/v2',
      'true',
      '-1',
      '99999999999999999999',
    ),
  },
);

const paramName = fc.oneof(
  fc.constantFrom(
    'tenant',
    'service',
    'env',
    'version',
    'limit',
    'cursor',
    'days',
    'action',
    'start',
    'end',
    'token_id',
    'tenant[$ne]',
    'limit[$gt]',
    '__proto__',
    'constructor',
    'prototype',
  ),
  fc.string({ maxLength: 12 }),
);

/** Nested JSON, a few levels of arbitrary structure or thousands of brackets deep. */
const deepJson = fc
  .integer({ min: 100, max: 8_000 })
  .chain((depth) =>
    fc.constantFrom(
      `${'['.repeat(depth)}${']'.repeat(depth)}`,
      `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
      `${'['.repeat(depth)}`,
    ),
  );

const routeBody = fc.record(
  {
    tenant: fc.oneof(fc.constant(TENANT), text, fc.jsonValue({ maxDepth: 2 })),
    service: fc.oneof(fc.constant('payments'), text),
    env: fc.oneof(fc.constant('prod'), text),
    version: fc.oneof(fc.constant('v1'), text),
    url: fc.oneof(fc.webUrl(), text, fc.constant({ $ne: null })),
    principal: text,
    role: fc.oneof(fc.constantFrom('resolver', 'writer', 'admin'), text),
    tenants: fc.oneof(fc.constant('*'), fc.array(text, { maxLength: 60 })),
    id: text,
    expires_in_days: fc.oneof(fc.integer(), fc.double(), text),
    __proto__: fc.constant({ admin: true }),
  },
  { requiredKeys: [] },
);

const body = fc.oneof(
  { weight: 4, arbitrary: routeBody.map((b) => JSON.stringify(b)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: deepJson },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 16_000, maxLength: 40_000 }) },
  { weight: 1, arbitrary: fc.constant('') },
);

const headerValue = fc.oneof(
  fc.stringMatching(/^[\x20-\x7e]{0,60}$/),
  fc.constantFrom(
    'x'.repeat(129),
    'abc-123.x:y',
    '',
    ' ',
    'application/json',
    'text/plain',
    'application/x-www-form-urlencoded',
  ),
);

const auth = fc.constantFrom<'admin' | 'writer' | 'none' | 'garbage' | 'forged'>(
  'admin',
  'writer',
  'none',
  'garbage',
  'forged',
);
const authorization = (kind: string): string | undefined => {
  if (kind === 'admin') return `Bearer ${ADMIN}`;
  if (kind === 'writer') return `Bearer ${writer}`;
  if (kind === 'garbage') return 'Bearer \u00ff\u00fe junk';
  if (kind === 'forged')
    return `Bearer ${formatToken({ id: ADMIN.slice(3, 19), secret: newTokenParts().secret })}`;
  return undefined;
};

const request = fc.record({
  route: fc.constantFrom(...httpRoutes),
  wrongMethod: fc.boolean(),
  otherMethod: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
  auth,
  query: fc.dictionary(paramName, text, { maxKeys: 6 }),
  rawQuery: fc.option(
    fc.constantFrom('tenant=%zz', '%', '&&&=', 'a=%E0%A4%A', 'tenant=a&tenant=b', 'x'.repeat(7000)),
  ),
  headers: fc.dictionary(
    fc.constantFrom(
      'x-correlation-id',
      'content-type',
      'idempotency-key',
      'x-changed-by',
      'x-forwarded-for',
      'cookie',
    ),
    headerValue,
    { maxKeys: 4 },
  ),
  body,
});

/** A chunked HTTP/1.1 body as one string. */
describe('fuzzing the HTTP API (fast-check, auth on)', () => {
  it('answers any request to any route without a 5xx, a hang, a stack trace or a secret', async () => {
    // Warm up first, so the memory baseline is the runner at work, not the runner just started.
    for (let i = 0; i < 50; i++) await fetch(`${api.url}/health`).then((r) => r.text());
    const rssBefore = rssBytes();

    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const method = r.wrongMethod ? r.otherMethod : r.route.method;
        const qs = r.rawQuery ?? new URLSearchParams(r.query).toString();
        const headers: Record<string, string> = { ...r.headers };
        const bearer = authorization(r.auth);
        if (bearer) headers.authorization = bearer;
        const sendsBody = method !== 'GET';
        const res = await fetch(`${api.url}${r.route.path}${qs ? `?${qs}` : ''}`, {
          method,
          headers,
          body: sendsBody ? r.body : undefined,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const answer = await res.text();
        checkAnswer(res.status, res.headers, answer, `${method} ${r.route.path}`);
        const sentId = r.headers['x-correlation-id'];
        // A request the HTTP parser refuses (431: the request line and headers over the limit, e.g. a huge
        // query) is answered before any header is read: it gets a new id, never an echo.
        const parsed = res.status !== 431 && res.status !== 414;
        if (sentId !== undefined && parsed && res.headers.has('x-correlation-id')) {
          expect(res.headers.get('x-correlation-id') === sentId, `${res.status}`).toBe(SAFE_ID.test(sentId));
        }
      }),
      {
        numRuns: Number(process.env.FUZZ_RUNS ?? 5_000),
        seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31),
        verbose: 1,
      },
    );

    const grown = rssBytes() - rssBefore;
    console.info(
      `fuzz: runner RSS ${Math.round(rssBefore / 2 ** 20)} MiB → grew ${Math.round(grown / 2 ** 20)} MiB`,
    );
    expect(grown).toBeLessThan(200 * 2 ** 20);
  }, 120_000);

  it('answers malformed HTTP (CR/LF or NUL in headers, bad request lines, huge headers) with JSON 4xx', async () => {
    const raw = (head: string) => rawRequest(api.url, head, '', REQUEST_TIMEOUT_MS);

    const smuggled = fc.constantFrom('\r', '\n', '\0', '\r\nSet-Cookie: pwned=1', '\rX-Evil: 1', '\u0085');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...httpRoutes.map((r) => r.path)),
        smuggled,
        fc.stringMatching(/^[a-z]{1,8}$/),
        async (path, injected, prefix) => {
          const res = await raw(
            `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN}\r\nX-Correlation-ID: ${prefix}${injected}tail\r\nConnection: close`,
          );
          if (res.status >= 400 || injected === '\u0085')
            checkAnswer(res.status, res.headers, res.body || '{}', `raw ${path}`);
          expect(res.headers.has('set-cookie')).toBe(false);
          expect(res.headers.has('x-evil')).toBe(false);
        },
      ),
      { numRuns: 150 },
    );

    for (const head of [
      'GET /api/v1/routes/resolve HTTP/1.1\r\nHost: x\r\nX-Big: ' +
        'a'.repeat(20_000) +
        '\r\nConnection: close',
      'GARBAGE\r\nConnection: close',
      'GET /../../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close',
      'POST /api/v1/routes HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\nConnection: close',
      'POST /api/v1/routes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\nConnection: close',
    ]) {
      const res = await raw(head);
      checkAnswer(res.status, res.headers, res.body || '{}', head.slice(0, 40));
      expect(res.status).toBeGreaterThanOrEqual(400);
    }
  }, 60_000);

  it('rejects or stores literally every injection attempt', async () => {
    const call = async (method: string, path: string, payload?: unknown, token = writer) => {
      const res = await fetch(`${api.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body:
          payload === undefined ? undefined : typeof payload === 'string' ? payload : JSON.stringify(payload),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const answer = await res.text();
      checkAnswer(res.status, res.headers, answer, `${method} ${path}`);
      return { status: res.status, json: JSON.parse(answer) as Record<string, any> };
    };
    const key = { tenant: TENANT, service: 'inject', env: 'prod', version: 'v1' };
    // Canonical (issue 16.4: WHATWG percent-encodes ' in a query), so it is stored as given.
    const sqlUrl = 'https://x.example.com/?q=1%27;DROP%20TABLE%20endpoints;--';

    // Stored literally: SQL in a URL is just a URL.
    expect((await call('POST', '/api/v1/routes', { ...key, url: sqlUrl })).status).toBe(201);
    const resolved = await call('GET', `/api/v1/routes/resolve?${new URLSearchParams(key)}`);
    expect(resolved.json).toEqual({ url: sqlUrl });

    // Rejected: SQL in names, Mongo operators anywhere, operator-looking query parameters.
    expect(
      (await call('POST', '/api/v1/routes', { ...key, service: "x'; DROP TABLE services;--", url: sqlUrl }))
        .json,
    ).toMatchObject({ error: 'validation_error', field: 'service' });
    expect(
      (await call('POST', '/api/v1/routes', { ...key, tenant: { $ne: null }, url: sqlUrl })).json,
    ).toMatchObject({ field: 'tenant' });
    expect(
      (await call('POST', '/api/v1/routes/activate', { ...key, version: { $gt: '' } })).json,
    ).toMatchObject({ field: 'version' });
    expect(
      (await call('GET', `/api/v1/routes/resolve?tenant[$ne]=x&service=inject&env=prod&version=v1`)).json,
    ).toMatchObject({
      field: 'tenant',
      rule: 'required',
    });
    const audit = await call(
      'GET',
      `/api/v1/audit/route?${new URLSearchParams({ ...key, 'limit[$gt]': '0' })}`,
    );
    expect(audit.status).toBe(200); // the unknown parameter is ignored, never an operator
    expect((await call('GET', '/api/v1/audit/recent?days[$gt]=0&limit=1')).status).toBe(200);
    expect(
      (await call('POST', '/api/v1/admin/tokens/revoke', { id: { $ne: null } }, ADMIN)).json,
    ).toMatchObject({ field: 'id' });
    // Prototype pollution in a body changes nothing: the extra key is dropped, the write is ordinary.
    const polluted =
      '{"__proto__":{"role":"admin"},"constructor":{"prototype":{"x":1}},' +
      `"tenant":"${TENANT}","service":"inject","env":"prod","version":"v2","url":"https://p.example.com"}`;
    expect((await call('POST', '/api/v1/routes', polluted)).status).toBe(201);
    expect((await call('GET', '/api/v1/admin/tokens')).status).toBe(403); // the writer is still a writer

    // Bodies over the limit: 413 from the handler (16 KiB) and from the runner (1 MiB), in JSON.
    const big = (n: number) => JSON.stringify({ ...key, url: `https://x.example.com/${'a'.repeat(n)}` });
    expect((await call('POST', '/api/v1/routes', big(20_000))).json).toMatchObject({
      error: 'payload_too_large',
    });
    expect((await call('POST', '/api/v1/routes', big(1_100_000))).json).toMatchObject({
      error: 'payload_too_large',
    });
  });

  it('answers the probe cases of issue 16: hostile URLs, reserved names, two Authorization headers, odd methods', async () => {
    const post = async (
      path: string,
      body: string | Buffer,
      token = writer,
      extra: Record<string, string> = {},
    ) => {
      const res = await fetch(`${api.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...extra },
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const answer = await res.text();
      checkAnswer(res.status, res.headers, answer, `POST ${path}`);
      return { status: res.status, headers: res.headers, json: JSON.parse(answer) as Record<string, any> };
    };
    const key = { tenant: TENANT, service: 'hostile', env: 'prod', version: 'v1' };
    const withUrl = (url: string) => JSON.stringify({ ...key, url });

    // Hostile URLs (16.4): refused with the rule that names why, never stored.
    for (const [url, rule] of [
      ['https://good.example.com\\@evil.example.com/', 'backslash'],
      ['https://a.example.com/\u202Egnp.exe', 'invisible_character'],
      ['https://a.example.com/\u200B', 'invisible_character'],
      ['https://a.example.com/\uFFFD', 'encoding'],
    ] as const) {
      expect((await post('/api/v1/routes', withUrl(url))).json, url).toMatchObject({ field: 'url', rule });
    }
    // A lone surrogate as a JSON escape, and bytes that are not UTF-8 (decoded as U+FFFD): both refused.
    const loneSurrogate = `{"tenant":"${TENANT}","service":"hostile","env":"prod","version":"v1","url":"https://a.example.com/\\ud800"}`;
    expect((await post('/api/v1/routes', loneSurrogate)).json).toMatchObject({ rule: 'encoding' });
    const invalidUtf8 = Buffer.concat([
      Buffer.from(withUrl('https://a.example.com/x').slice(0, -3)),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    expect((await post('/api/v1/routes', invalidUtf8)).json).toMatchObject({ rule: 'encoding' });
    const resolved = await fetch(`${api.url}/api/v1/routes/resolve?${new URLSearchParams(key)}`, {
      headers: { authorization: `Bearer ${writer}` },
    });
    expect(resolved.status).toBe(404);

    // Reserved principal names (16.2), whatever their case.
    for (const principal of ['anonymous', 'Local-Admin', 'bootstrap', 'bootstrap:force', 'BOOTSTRAP-ADMIN']) {
      const body = JSON.stringify({ principal, role: 'resolver', tenants: [TENANT] });
      expect((await post('/api/v1/admin/tokens', body, ADMIN)).json, principal).toMatchObject({
        error: 'validation_error',
        rule: 'reserved',
      });
    }

    // Two Authorization headers (16.5), whatever their names' case: refused before any handler.
    for (const second of ['Authorization', 'authorization', 'AUTHORIZATION']) {
      const res = await rawRequest(
        api.url,
        `GET /api/v1/routes/resolve?${new URLSearchParams(key)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${writer}\r\n${second}: Bearer ${ADMIN}\r\nConnection: close`,
      );
      checkAnswer(res.status, res.headers, res.body, `two Authorization headers (${second})`);
      expect(res.status).toBe(401);
    }

    // X-Correlation-ID and a JSON body on the runner's own answers (16.6); the caller's safe id is echoed.
    const own = async (method: string, path: string, init: RequestInit = {}) => {
      const res = await fetch(`${api.url}${path}`, {
        method,
        ...init,
        headers: { 'x-correlation-id': 'probe-16', ...(init.headers as Record<string, string>) },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const answer = await res.text();
      checkAnswer(res.status, res.headers, answer, `${method} ${path}`);
      expect(res.headers.get('x-correlation-id'), `${method} ${path}`).toBe('probe-16');
      return res.status;
    };
    expect(await own('GET', '/no/such/path')).toBe(404);
    expect(await own('GET', '/api/v1/routes/activate')).toBe(405);
    expect(await own('DELETE', '/api/v1/routes')).toBe(405);
    expect(
      await own('POST', '/api/v1/routes', {
        headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/json' },
        body: 'x'.repeat(1_100_000),
      }),
    ).toBe(413);
    // /metrics is not served on the public listener with auth on and no METRICS_TOKEN (16.7).
    expect(await own('GET', '/metrics')).toBe(404);

    // CONNECT, TRACE, an unknown Expect, oversized headers: JSON 4xx with a correlation id.
    for (const [head, status] of [
      ['CONNECT evil.example.com:443 HTTP/1.1\r\nHost: evil.example.com:443', 405],
      ['TRACE /api/v1/routes HTTP/1.1\r\nHost: x\r\nConnection: close', 405],
      ['TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close', 404],
      [
        'POST /api/v1/routes HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 2\r\nConnection: close',
        417,
      ],
      [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nConnection: close`, 431],
    ] as const) {
      const res = await rawRequest(api.url, head, '', REQUEST_TIMEOUT_MS);
      checkAnswer(res.status, res.headers, res.body, head.slice(0, 30));
      expect(res.status, head.slice(0, 30)).toBe(status);
    }
  });

  afterAll(() => console.info(`fuzz: ${cases} requests checked`));
});
