import { mkdirSync, writeFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueRouteKey } from '#test/support/fixtures';
import { PrivateSystem, waitUntil } from './system.ts';

// Fault injection: every scenario stops and restarts a real dependency process of a private system.
const sys = new PrivateSystem();
const report: Record<string, unknown>[] = [];

beforeAll(async () => {
  await sys.start();
}, 180_000);

afterAll(async () => {
  await sys.stop();
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    'bench/results/faults.json',
    `${JSON.stringify({ measured_at: new Date().toISOString(), scenarios: report }, null, 2)}\n`,
  );
  console.table(report);
}, 60_000);

const call = async (method: string, path: string, body?: unknown) => {
  const started = performance.now();
  const res = await fetch(`${sys.api.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const json = (await res.json()) as Record<string, any>;
  return { status: res.status, json, ms: performance.now() - started };
};
const create = (k: object, url = 'https://a.example.com') => call('POST', '/api/v1/routes', { ...k, url });
const resolve = (k: Record<string, string>) =>
  call('GET', `/api/v1/routes/resolve?${new URLSearchParams(k)}`);
const metric = async (name: string): Promise<number> => {
  const text = await (await fetch(`${sys.api.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
};
/** Runs `n` calls with at most `concurrency` in flight. */
const burst = async <T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> => {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
};
const backlog = async (tenant: string) =>
  (
    await sys.sql<{ n: number }>(
      'SELECT count(*)::int AS n FROM route_events WHERE tenant = $1 AND published_at IS NULL',
      [tenant],
    )
  )[0]!.n;

describe('fault injection', () => {
  it('Redis down: resolves come from Postgres, writes succeed, health shows it; Redis back: cache used again', async () => {
    const a = uniqueRouteKey();
    expect((await create(a)).status).toBe(201);
    await resolve({ ...a });
    await sys.stopRedis();

    expect((await resolve({ ...a })).json).toEqual({ url: 'https://a.example.com' });
    const b = uniqueRouteKey();
    const writes = await burst(50, 10, (i) => create({ ...b, version: `v${i}` }));
    expect(writes.every((w) => w.status === 201)).toBe(true);
    const ready = await call('GET', '/health/ready');
    expect(ready).toMatchObject({ status: 200, json: { checks: { cache: { status: 'unhealthy' } } } });
    expect(await metric('resolve_cache_bypass_total')).toBeGreaterThan(0);

    const down = Date.now();
    await sys.startRedis();
    const recovery = await waitUntil(
      async () => (await call('GET', '/health/ready')).json.checks.cache.status === 'healthy',
      20_000,
      'the cache to be healthy again',
    );
    const hitsBefore = await metric('resolve_cache_hit_total');
    await waitUntil(
      async () => {
        await resolve({ ...a });
        return (await metric('resolve_cache_hit_total')) > hitsBefore;
      },
      10_000,
      'cache hits again',
    );
    report.push({
      scenario: 'Redis down',
      writes: 50,
      failed: 0,
      lost: 0,
      duplicated: 0,
      recovery_ms: recovery,
      outage_ms: Date.now() - down,
    });
  });

  it('Postgres down: cached resolves 200, uncached 503 within 1 s, writes 503; back: healthy within seconds', async () => {
    const cached = uniqueRouteKey();
    await create(cached);
    await resolve({ ...cached });
    await sys.stopPostgres();

    expect((await resolve({ ...cached })).status).toBe(200);
    const uncached = await resolve({ ...uniqueRouteKey() });
    expect(uncached.status).toBe(503);
    expect(uncached.json).toMatchObject({ error: 'dependency_unavailable', dependency: 'database' });
    expect(uncached.ms).toBeLessThan(1000);
    const write = await create(uniqueRouteKey());
    expect(write.status).toBe(503);
    expect(write.ms).toBeLessThan(1500);
    const ready = await call('GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.ms).toBeLessThan(1000);

    await sys.startPostgres();
    const recovery = await waitUntil(
      async () => (await create(uniqueRouteKey())).status === 201,
      20_000,
      'writes to succeed',
    );
    expect((await call('GET', '/health/ready')).status).toBe(200);
    report.push({
      scenario: 'Postgres down',
      writes: 1,
      failed: 1,
      lost: 0,
      duplicated: 0,
      recovery_ms: recovery,
    });
  });

  it('Kafka down during 500 writes: all 2xx; after restart every event is audited exactly once and caches agree', async () => {
    const base = uniqueRouteKey();
    await sys.killKafka();
    const ready = await call('GET', '/health/ready');
    expect(ready).toMatchObject({ status: 200, json: { checks: { kafka: { status: 'unhealthy' } } } });
    expect(ready.ms).toBeLessThan(1000);
    const writes = await burst(500, 20, (i) =>
      create({ ...base, version: `v${i}` }, `https://k.example.com/${i}`),
    );
    expect(writes.filter((w) => w.status !== 201)).toEqual([]);
    expect(await backlog(base.tenant)).toBeGreaterThan(0);

    await sys.startKafka();
    const recovery = await waitUntil(
      async () =>
        (await backlog(base.tenant)) === 0 &&
        (await sys.mongoCount({ 'route.tenant': base.tenant })).docs >= 500,
      90_000,
      'the outbox to drain and all audit documents to arrive',
    );
    const { docs, distinctEvents } = await sys.mongoCount({ 'route.tenant': base.tenant });
    expect(distinctEvents).toBe(500);
    expect(docs).toBe(500);
    const resolved = await burst(500, 20, (i) => resolve({ ...base, version: `v${i}` }));
    expect(resolved.every((r, i) => r.json.url === `https://k.example.com/${i}`)).toBe(true);
    report.push({
      scenario: 'Kafka down',
      writes: 500,
      failed: 0,
      lost: 500 - distinctEvents,
      duplicated: docs - distinctEvents,
      recovery_ms: recovery,
    });
  }, 180_000);

  it('Mongo down: the audit consumer retries; nothing is lost and nothing duplicated after recovery', async () => {
    const base = uniqueRouteKey();
    await sys.killMongo();
    const writes = await burst(100, 10, (i) => create({ ...base, version: `v${i}` }));
    expect(writes.every((w) => w.status === 201)).toBe(true);
    const ready = await call('GET', '/health/ready');
    expect(ready).toMatchObject({ status: 200, json: { checks: { audit_store: { status: 'unhealthy' } } } });
    expect(ready.ms).toBeLessThan(1000);
    await waitUntil(
      async () => (await metric('consumer_retries_total')) > 0,
      20_000,
      'the audit consumer to retry',
    );

    await sys.startMongo();
    const recovery = await waitUntil(
      async () => (await sys.mongoCount({ 'route.tenant': base.tenant })).docs >= 100,
      60_000,
      'the audit documents written during the outage',
    );
    await new Promise((r) => setTimeout(r, 1000)); // late duplicates would show up here
    const { docs, distinctEvents } = await sys.mongoCount({ 'route.tenant': base.tenant });
    expect([docs, distinctEvents]).toEqual([100, 100]);
    report.push({
      scenario: 'Mongo down',
      writes: 100,
      failed: 0,
      lost: 100 - distinctEvents,
      duplicated: docs - distinctEvents,
      recovery_ms: recovery,
    });
  }, 120_000);

  it('poison records go to the failure destination and do not block their partition', async () => {
    const producer = new Kafka({ brokers: [sys.kafkaBrokers], logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const poisonKey = `poison-${Date.now()}`;
    await producer.send({
      topic: 'route-events',
      messages: Array.from({ length: 6 }, (_, i) => ({
        key: `${poisonKey}-${i}`,
        value: '{"not":"an event"',
      })),
    });
    await producer.disconnect();
    const after = uniqueRouteKey();
    const writes = await burst(30, 5, (i) => create({ ...after, version: `v${i}` }));
    expect(writes.every((w) => w.status === 201)).toBe(true);

    const recovery = await waitUntil(
      async () => (await sys.mongoCount({ 'route.tenant': after.tenant })).docs === 30,
      30_000,
      'later events',
    );
    const dead = await sys.sql<{ n: number }>(
      "SELECT count(*)::int AS n FROM event_dead_letters WHERE record_key LIKE $1 || '%'",
      [poisonKey],
    );
    expect(dead[0]!.n).toBeGreaterThan(0);
    report.push({
      scenario: 'poison records',
      writes: 30,
      failed: 0,
      lost: 0,
      duplicated: 0,
      recovery_ms: recovery,
      dead_letters: dead[0]!.n,
    });
  }, 60_000);

  it('SIGTERM under load: every accepted request is answered', async () => {
    const base = uniqueRouteKey();
    await create(base);
    let stop = false;
    const answered: number[] = [];
    const failures: (string | undefined)[] = [];
    const loops = Array.from({ length: 16 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        try {
          const r =
            i % 4 === 0 ? await create({ ...base, version: `w${w}-${i}` }) : await resolve({ ...base });
          answered.push(r.status);
        } catch (err) {
          failures.push((err as { cause?: { code?: string } }).cause?.code);
          stop = true;
        }
      }
    });
    await new Promise((r) => setTimeout(r, 1000));
    const exit = sys.api.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    stop = true;
    await Promise.all(loops);
    expect(await exit).toBe(0);
    expect(answered.length).toBeGreaterThan(50);
    expect(answered.filter((s) => s !== 200 && s !== 201)).toEqual([]);
    expect(failures.every((code) => code === 'ECONNREFUSED')).toBe(true);
    report.push({
      scenario: 'SIGTERM under load',
      writes: answered.length,
      failed: 0,
      lost: 0,
      duplicated: 0,
      answered: answered.length,
      refused_after_close: failures.length,
    });
  }, 60_000);
});
