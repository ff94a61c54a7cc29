import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueRouteKey } from '#test/support/fixtures';
import { type RunningApi, startLocalApi } from '#test/support/local-runner';
import { freePort } from '#test/support/private-redis';
import { createPrivateDatabase, type PrivateDatabase } from '../integration/events/private-database.ts';
import { waitUntil } from './system.ts';

/**
 * The shared-services path, end to end: `npm run services:up|down` and `npm run dev`'s runner (which finds
 * the services through ensureServices, as a newcomer's runner does), on a services home and ports of its
 * own (LOCAL_SERVICES_HOME, LOCAL_*_PORT), so the machine's shared services are not touched.
 */
const home = mkdtempSync(join(tmpdir(), 'tm-shared-services-'));
let env: Record<string, string>;
let db: PrivateDatabase;
let api: RunningApi;
let mongoUrl: string;

const npmRun = async (script: string): Promise<string> => {
  const { stdout, stderr } = await promisify(execFile)('npm', ['run', '-s', script], {
    cwd: process.cwd(),
    env,
    timeout: 240_000,
  });
  return `${stdout}${stderr}`;
};
const pidOf = (name: string): number => Number(readFileSync(join(home, 'run', `${name}.pid`), 'utf8'));

const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
};

const auditOf = async (tenant: string): Promise<{ docs: number; distinctEvents: number }> => {
  const client = new MongoClient(mongoUrl, { serverSelectionTimeoutMS: 3000 });
  try {
    const audit = client.db('traffic_manager').collection('route_audit');
    const docs = await audit.countDocuments({ 'route.tenant': tenant });
    return { docs, distinctEvents: (await audit.distinct('event_id', { 'route.tenant': tenant })).length };
  } finally {
    await client.close();
  }
};

const unpublished = async (tenant: string): Promise<number> => {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM route_events WHERE tenant = $1 AND published_at IS NULL',
      [tenant],
    );
    return rows[0]!.n;
  } finally {
    await client.end();
  }
};

beforeAll(async () => {
  const [kafka, controller, mongo, dynamodb] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  mongoUrl = `mongodb://127.0.0.1:${mongo}`;
  const inherited = { ...process.env } as Record<string, string>;
  // The global setup names the machine's shared services; this test must find its own through the path.
  for (const name of ['KAFKA_BROKERS', 'MONGO_URL', 'DYNAMODB_ENDPOINT']) delete inherited[name];
  env = {
    ...inherited,
    LOCAL_SERVICES_HOME: home,
    LOCAL_KAFKA_PORT: String(kafka),
    LOCAL_KAFKA_CONTROLLER_PORT: String(controller),
    LOCAL_MONGO_PORT: String(mongo),
    LOCAL_DYNAMODB_PORT: String(dynamodb),
  };
  db = await createPrivateDatabase('shared_services');
  await npmRun('services:up');
  api = await startLocalApi({
    ...env,
    // Empty: not set, so the runner goes the shared path (ensureServices) to the services started above.
    KAFKA_BROKERS: '',
    MONGO_URL: '',
    DYNAMODB_ENDPOINT: '',
    DATABASE_URL: db.url,
    CACHE_BACKEND: 'none',
    CONSUMER_GROUP_SUFFIX: `-${randomUUID().slice(0, 8)}`,
    LOG_LEVEL: 'WARN',
  });
}, 300_000);

afterAll(async () => {
  await api?.stop();
  await npmRun('services:down').catch(() => '');
  await db?.drop();
  rmSync(home, { recursive: true, force: true });
}, 120_000);

describe('the shared local services, through the project commands and the dev runner', () => {
  const base = uniqueRouteKey();
  const idempotent = { key: `k-${randomUUID()}`, route: uniqueRouteKey() };
  const WRITES = 200;

  it('Kafka SIGKILLed during a write burst and brought back with services:up: every write 2xx, every event audited once', async () => {
    const first = await call(
      'POST',
      '/api/v1/routes',
      { ...idempotent.route, url: 'https://idem.example.com' },
      { 'Idempotency-Key': idempotent.key },
    );
    expect(first.status).toBe(201);

    const statuses: number[] = [];
    let next = 0;
    let broughtBack: Promise<string> | undefined;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < WRITES) {
          const i = next++;
          if (i === WRITES / 4) {
            process.kill(pidOf('kafka'), 'SIGKILL');
            broughtBack = npmRun('services:up');
          }
          const r = await call('POST', '/api/v1/routes', {
            ...base,
            version: `v${i}`,
            url: `https://s.example.com/${i}`,
          });
          statuses.push(r.status);
        }
      }),
    );
    expect(statuses.filter((s) => s !== 201)).toEqual([]);
    expect(await broughtBack).toMatch(/kafka\s+started/);

    await waitUntil(
      async () => (await unpublished(base.tenant)) === 0 && (await auditOf(base.tenant)).docs >= WRITES,
      120_000,
      'the outbox to drain and every event to be audited',
    );
    await new Promise((r) => setTimeout(r, 1000)); // late duplicates would show up here
    expect(await auditOf(base.tenant)).toEqual({ docs: WRITES, distinctEvents: WRITES });
  }, 240_000);

  it('services:down && services:up: the audit history and the stored idempotency keys are still there, and the runner goes on', async () => {
    expect(await npmRun('services:down')).toMatch(/mongo\s+pid \d+: stopped/);
    const up = await npmRun('services:up');
    expect(up).toMatch(/mongo\s+started/);
    expect(up).toMatch(/dynamodb\s+started/);

    expect(await auditOf(base.tenant)).toEqual({ docs: WRITES, distinctEvents: WRITES });
    const replay = await waitUntil(
      async () =>
        (
          await call(
            'POST',
            '/api/v1/routes',
            { ...idempotent.route, url: 'https://idem.example.com' },
            { 'Idempotency-Key': idempotent.key },
          )
        ).headers.get('idempotent-replayed') === 'true',
      30_000,
      'the idempotency key to be replayed after the restart',
    );
    expect(replay).toBeGreaterThanOrEqual(0);

    // The runner was not restarted: a new write still reaches the audit trail.
    const after = uniqueRouteKey();
    expect(
      (await call('POST', '/api/v1/routes', { ...after, url: 'https://after.example.com' })).status,
    ).toBe(201);
    await waitUntil(async () => (await auditOf(after.tenant)).docs === 1, 60_000, 'the new write audited');
  }, 240_000);

  it('logged each Kafka failure cause at most once a second', () => {
    const perCauseAndSecond = new Map<string, number>();
    for (const line of api.output().split('\n')) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as { message?: string; error?: unknown; timestamp?: string };
      if (!entry.message?.startsWith('kafka:') || !entry.timestamp) continue;
      const key = `${entry.message}|${String(entry.error)}|${entry.timestamp.slice(0, 19)}`;
      perCauseAndSecond.set(key, (perCauseAndSecond.get(key) ?? 0) + 1);
    }
    expect(Math.max(0, ...perCauseAndSecond.values())).toBeLessThanOrEqual(1);
  });
});
