// Writes through the local cloud (issue 15): creates sent over HTTP to `npm start`, where every function
// runs from its bundle in its own Node 22 container, so CPU per create splits by process: the runner (API
// Gateway, authorizer calls, the event-source poller, the relay's schedule), each function (the write
// function, the relay, the three consumers), Postgres, Redis, Kafka and the Mongo-wire server. Measured
// until every create is in the audit trail and warmed in the cache. Results: bench/results/cloud-writes.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { cacheKeyOf } from '#shared/domain/cache-entry';
import { reservedConcurrencyOf, stages } from '../infra/config/stages.ts';
import { ensureServices } from '../scripts/services/services.ts';
import { startLocalCloud } from '../test/support/local-runner.ts';
import { cpuPerRequest, reportHeader, systemCpu } from './cpu.ts';
import { root } from './environment.ts';
import { summarize } from './stats.ts';

const WRITES = Number(process.env.BENCH_WRITES ?? 1000);
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const services = await ensureServices();
// Capacity, not policy: rate limits off; auth off on loopback (every call acts as the all-tenant admin).
const cloud = await startLocalCloud({
  AUTH_MODE: 'off',
  LOG_LEVEL: 'ERROR',
  // BENCH_FUNCTION_ENV: more tuning for every function (JSON), to compare settings.
  LOCAL_CLOUD_FUNCTION_ENV: JSON.stringify({
    RATE_LIMITS_ENABLED: 'false',
    ...JSON.parse(process.env.BENCH_FUNCTION_ENV ?? '{}'),
  }),
});
// As many writes in flight as the write function has containers: its local reserved concurrency, scaled
// as start.ts scales database-using functions (more would be throttled, as in AWS).
const scale = Number(/concurrency is scaled by ([\d.]+)/.exec(cloud.output())?.[1] ?? 1);
const IN_FLIGHT = Math.max(1, Math.floor((reservedConcurrencyOf(stages.local, 'upsertRoute') ?? 8) * scale));
const run = `cw-${Date.now().toString(36)}`;
const route = (prefix: string, i: number) => ({
  tenant: `${run}-${prefix}-${i % 50}`,
  service: 'payments',
  env: 'prod',
  version: `v${i}`,
});

const creates = async (n: number, inFlight: number, prefix: string) => {
  const samples: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) {
        const i = next++;
        const t0 = performance.now();
        const res = await fetch(`${cloud.url}/api/v1/routes`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ...route(prefix, i), url: `https://r${i}.example.com` }),
        });
        if (res.status !== 201) throw new Error(`create answered ${res.status}: ${await res.text()}`);
        samples.push(performance.now() - t0);
      }
    }),
  );
  return samples;
};

const mongo = new MongoClient(services.mongoUrl, { directConnection: true });
await mongo.connect();
const audit = mongo.db('traffic_manager').collection('route_audit');
const redis = new Redis(REDIS);

/** Every create of `prefix` is in the audit trail and warmed (a value, not a tombstone, at revision 1). */
const applied = async (n: number, prefix: string): Promise<boolean> => {
  const stored = await audit.countDocuments({ 'route.tenant': { $regex: `^${run}-${prefix}-` } });
  if (stored < n) return false;
  const values = await redis.mget(Array.from({ length: n }, (_, i) => cacheKeyOf(route(prefix, i))));
  return values.every((v) => v?.startsWith('1|') && v[2] !== 'T');
};
const untilApplied = async (n: number, prefix: string) => {
  const deadline = Date.now() + 180_000;
  while (!(await applied(n, prefix))) {
    if (Date.now() > deadline) throw new Error(`the pipeline did not apply ${n} creates within 180 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

try {
  await creates(200, IN_FLIGHT, 'warm');
  await untilApplied(200, 'warm');
  const started = performance.now();
  const measured = await cpuPerRequest(cloud.process.pid!, async () => {
    const samples = await creates(WRITES, IN_FLIGHT, 'm');
    const answeredMs = performance.now() - started;
    await untilApplied(WRITES, 'm');
    return { samples, answeredMs, requests: WRITES };
  });
  const appliedMs = performance.now() - started;

  // Function names as the template gives them (e.g. TrafficManager-local-Stateless-UpsertRoute…): the
  // part after the stage's stack name, without CDK's suffix.
  const shortName = (group: string) =>
    group.startsWith('fn:')
      ? `fn:${group
          .slice(3)
          .replace(/^.*?Stateless-?/, '')
          .replace(/[A-Z0-9]{8,}$/, '')}`
      : group;
  const cpu = Object.fromEntries(
    Object.entries(measured.cpu_us_per_request).map(([group, us]) => [shortName(group), us]),
  );
  const report = {
    ...reportHeader(),
    setup: {
      writes: WRITES,
      in_flight: IN_FLIGHT,
      function_env: JSON.parse(process.env.BENCH_FUNCTION_ENV ?? '{}'),
      note: 'npm start (local stage, every function in its own Node 22 container), auth and rate limits off; CPU from /proc per process until every create was audited and warmed, divided by the creates',
    },
    creates_per_s_answered: Math.round(WRITES / (measured.result.answeredMs / 1000)),
    creates_per_s_applied: Math.round(WRITES / (appliedMs / 1000)),
    write_latency_ms: summarize(measured.result.samples),
    cpu_us_per_create: { ...cpu, total: systemCpu(cpu) },
  };
  mkdirSync(`${root}bench/results`, { recursive: true });
  const file = process.env.BENCH_OUT ?? 'cloud-writes.json';
  writeFileSync(`${root}bench/results/${file}`, `${JSON.stringify(report, null, 2)}\n`);
  console.log(JSON.stringify(report, null, 2));
} catch (err) {
  console.error(cloud.output().split('\n').slice(-40).join('\n'));
  throw err;
} finally {
  await mongo.close();
  redis.disconnect();
  await cloud.stop();
}
process.exit(0);
