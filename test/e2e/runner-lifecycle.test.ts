import { describe, expect, it } from 'vitest';
import { uniqueRouteKey } from '#test/support/fixtures';
import { startLocalApi } from '#test/support/local-runner';
import { testPool, waitForLockWaiters } from '#test/support/pg';

const post = (base: string, path: string, body: unknown) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('graceful shutdown', () => {
  it('answers every in-flight request after SIGTERM, turns readiness off, then exits 0', async () => {
    const api = await startLocalApi({ SHUTDOWN_DEADLINE_MS: '10000' });
    const key = uniqueRouteKey();
    expect((await post(api.url, '/api/v1/routes', { ...key, url: 'https://a.example.com' })).status).toBe(
      201,
    );

    // Hold the route's row lock so the next writes are genuinely in flight when SIGTERM arrives.
    const pool = testPool();
    const blocker = await pool.connect();
    await blocker.query('BEGIN');
    await blocker.query(
      `SELECT e.id FROM endpoints e JOIN environments en ON en.id = e.environment_id
         JOIN services s ON s.id = en.service_id JOIN tenants t ON t.id = s.tenant_id
        WHERE t.name = $1 FOR UPDATE OF e`,
      [key.tenant],
    );
    const inFlight = Array.from({ length: 6 }, (_, i) =>
      post(api.url, `/api/v1/routes/${i % 2 ? 'activate' : 'deactivate'}`, key).then((r) => r.status),
    );
    await waitForLockWaiters(pool, 'tm_set_route_active', 6); // all six are inside the runner, blocked

    api.process.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    const refused = await fetch(`${api.url}/health/ready`).then(
      (r) => r.status,
      () => 'refused',
    );
    expect([503, 'refused']).toContain(refused); // not ready while draining

    await blocker.query('COMMIT');
    blocker.release();
    // Accepted requests must all be answered; only a request the runner never accepted may fail, and
    // only by being refused (never reset mid-way).
    const settled = await Promise.allSettled(inFlight);
    const answered = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failures = settled.flatMap((r) =>
      r.status === 'rejected' ? [(r.reason as { cause?: { code?: string } }).cause?.code] : [],
    );
    expect(answered.every((s) => s === 200)).toBe(true);
    expect(failures.every((code) => code === 'ECONNREFUSED')).toBe(true);
    expect(answered.length).toBeGreaterThanOrEqual(5);
    expect(await api.stop()).toBe(0);
    expect(api.output()).toContain('drained; pools closed');
    await pool.end();
  });
});

describe('running without Redis', () => {
  it('serves resolves and writes from Postgres and reports the cache as unhealthy but stays ready', async () => {
    const api = await startLocalApi({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const key = uniqueRouteKey();
      expect((await post(api.url, '/api/v1/routes', { ...key, url: 'https://a.example.com' })).status).toBe(
        201,
      );
      const res = await fetch(`${api.url}/api/v1/routes/resolve?${new URLSearchParams({ ...key })}`);
      expect(await res.json()).toEqual({ url: 'https://a.example.com' });
      const ready = await fetch(`${api.url}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({
        status: 'ready',
        checks: { cache: { status: 'unhealthy' } },
      });
      const metrics = await (await fetch(`${api.url}/metrics`)).text();
      expect(metrics).toMatch(/resolve_cache_bypass_total [1-9]/);
    } finally {
      await api.stop();
    }
  });
});

describe('running with the Upstash cache backend', () => {
  it('caches resolves through the Upstash REST protocol (its client is loaded only in this mode)', async () => {
    const { startUpstashRestServer } = await import('#test/support/upstash-rest-server');
    const upstash = await startUpstashRestServer('redis://127.0.0.1:6379', 'e2e-token');
    const api = await startLocalApi({
      CACHE_BACKEND: 'upstash',
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: 'e2e-token',
    });
    try {
      const key = uniqueRouteKey();
      expect((await post(api.url, '/api/v1/routes', { ...key, url: 'https://u.example.com' })).status).toBe(
        201,
      );
      const resolve = () => fetch(`${api.url}/api/v1/routes/resolve?${new URLSearchParams({ ...key })}`);
      const before = upstash.requests();
      expect(await (await resolve()).json()).toEqual({ url: 'https://u.example.com' }); // miss, then filled
      expect(await (await resolve()).json()).toEqual({ url: 'https://u.example.com' }); // hit
      expect(upstash.requests()).toBeGreaterThanOrEqual(before + 3);
      const metrics = await (await fetch(`${api.url}/metrics`)).text();
      expect(metrics).toMatch(/resolve_cache_hit_total [1-9]/);
      const ready = await (await fetch(`${api.url}/health/ready`)).json();
      expect(ready).toMatchObject({ checks: { cache: { status: 'healthy', backend: 'upstash' } } });
    } finally {
      await api.stop();
      await upstash.close();
    }
  });
});
