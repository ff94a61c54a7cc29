import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthSchema, readinessSchema, resilienceSchema } from '#functions/health/health.schema';
import { OPENAPI_PATH } from '#functions/openapi/paths';
import {
  resolveRouteResponseSchema,
  routeDetailSchema,
  routeListResponseSchema,
  routeWriteResponseSchema,
} from '#functions/routes/route-response.schema';
import { errorBodySchema } from '#shared/middleware/error-body.schema';
import { uniqueRouteKey } from '#test/support/fixtures';
import { type RunningApi, startLocalApi } from '#test/support/local-runner';

let api: RunningApi;
beforeAll(async () => {
  api = await startLocalApi();
});
afterAll(async () => {
  await api?.stop();
});

const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: () => JSON.parse(text) as Record<string, any>,
  };
};
const resolvePath = (k: Record<string, string>) => `/api/v1/routes/resolve?${new URLSearchParams(k)}`;

describe('the seed workflow over HTTP', () => {
  it('creates, resolves, deactivates, activates', async () => {
    const key = uniqueRouteKey();
    const created = await call('POST', '/api/v1/routes', { ...key, url: 'https://payments.example.com/v2' });
    expect(created.status).toBe(201);
    expect(created.json()).toMatchObject({
      message: 'Route created successfully',
      route: { ...key, is_active: true },
    });

    expect((await call('GET', resolvePath({ ...key }))).json()).toEqual({
      url: 'https://payments.example.com/v2',
    });
    expect((await call('POST', '/api/v1/routes/deactivate', key)).status).toBe(200);
    expect((await call('GET', resolvePath({ ...key }))).status).toBe(404);
    expect((await call('POST', '/api/v1/routes/activate', key)).status).toBe(200);
    expect((await call('GET', resolvePath({ ...key }))).json()).toEqual({
      url: 'https://payments.example.com/v2',
    });
  });

  it('runs without tokens on loopback by default (the seed workflow needs none), and says so loudly', () => {
    expect(api.output()).toContain('AUTH IS OFF');
    expect(api.output()).toContain('AUTH_MODE=on npm start');
  });

  it('serves health, readiness, liveness and Prometheus metrics with the seed names', async () => {
    expect((await call('GET', '/health')).json()).toEqual({ status: 'healthy', service: 'traffic-manager' });
    expect((await call('GET', '/health/live')).json()).toMatchObject({ status: 'alive' });
    expect((await call('GET', '/health/ready')).json()).toMatchObject({
      status: 'ready',
      checks: { database: { status: 'healthy' } },
    });
    const metrics = (await call('GET', '/metrics')).text;
    for (const name of [
      'resolve_requests_total',
      'resolve_cache_hit_total',
      'resolve_cache_miss_total',
      'resolve_negative_cache_hit_total',
      'resolve_latency_seconds_bucket',
      'write_requests_total',
      'write_success_total',
      'write_failure_total',
      'write_latency_seconds_bucket',
    ]) {
      expect(metrics).toContain(name);
    }
  });
});

describe('the OpenAPI document', () => {
  it('serves docs/openapi.json at GET /openapi.json as JSON', async () => {
    const res = await call('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.json()).toEqual(JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')));
  });

  it('answers in the shapes it documents (the zod schemas the document is generated from)', async () => {
    const key = uniqueRouteKey();
    const q = new URLSearchParams({ ...key }).toString();
    const written = await call('POST', '/api/v1/routes', { ...key, url: 'https://shape.example.com/' });
    expect(written.status).toBe(201);
    routeWriteResponseSchema.strict().parse(written.json());
    resolveRouteResponseSchema.strict().parse((await call('GET', `/api/v1/routes/resolve?${q}`)).json());
    routeDetailSchema.strict().parse((await call('GET', `/api/v1/routes/detail?${q}`)).json());
    routeListResponseSchema.strict().parse((await call('GET', `/api/v1/routes?tenant=${key.tenant}`)).json());
    healthSchema.strict().parse((await call('GET', '/health')).json());
    readinessSchema.strict().parse((await call('GET', '/health/ready')).json());
    resilienceSchema.strict().parse((await call('GET', '/health/resilience')).json());
    const missing = await call(
      'GET',
      `/api/v1/routes/detail?${new URLSearchParams({ ...key, version: 'none' })}`,
    );
    expect(missing.status).toBe(404);
    errorBodySchema.parse(missing.json());
  });
});

describe('concurrency', () => {
  it('answers 20 concurrent creates of one new route with one 201 and nineteen 200s', async () => {
    const key = uniqueRouteKey();
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        call('POST', '/api/v1/routes', { ...key, url: 'https://a.example.com' }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(19);
  });
});

describe('bad requests over HTTP', () => {
  it.each([
    ['malformed JSON', '{"tenant": "a",', 400],
    ['a JSON array', '[{"tenant":"a"}]', 400],
    ['a JSON null', 'null', 400],
    ['a deeply nested body', `${'['.repeat(5000)}${']'.repeat(5000)}`, 400],
  ])('answers %s with a JSON %s', async (_label, body, status) => {
    const res = await call('POST', '/api/v1/routes', body);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.json().error).toBeTypeOf('string');
  });

  it('refuses a 2 MB body with 413 and a JSON error', async () => {
    const res = await call('POST', '/api/v1/routes', JSON.stringify({ url: 'x'.repeat(2 * 1024 * 1024) }));
    expect(res.status).toBe(413);
    expect(res.json().error).toBe('payload_too_large');
  });

  it('answers an unknown path with a JSON 404 and a wrong method with a JSON 405', async () => {
    expect(await call('GET', '/nope')).toMatchObject({ status: 404 });
    const wrong = await call('DELETE', '/api/v1/routes');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, POST'); // list (GET) and create (POST)
    expect(wrong.json().error).toBe('method_not_allowed');
  });

  it('echoes a given correlation id and generates one otherwise', async () => {
    const given = await call('GET', '/health', undefined, { 'X-Correlation-ID': 'e2e-42' });
    expect(given.headers.get('x-correlation-id')).toBe('e2e-42');
    expect((await call('GET', '/health')).headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
