// Writes benchmark (issue 15): what one create costs and how long it takes, through the real write and
// bulk handlers against Postgres, Redis and Kafka, in this process (as one Lambda container would run them):
//  (a) latency one at a time and at 10 and 32 in flight, creates/s, CPU per create by process (API alone);
//  (b) one write's time by step: commit (the write function, its outbox row and lease), tombstone, publish
//      (acks=all), mark published;
//  (c) changes/s through bulk changes of 100;
//  (d) the whole pipeline running (relay and the three consumer handlers behind the event-source poller,
//      in this process too): CPU per create by process until every consumer applied every write, and
//      propagation from commit to cache warmed / audit stored.
// Results: bench/results/writes.json. The services are shared with other sessions: CPU per process counts
// whatever else they served meanwhile, so compare runs made under the same load (BENCH_LABEL names one).
import { mkdirSync, writeFileSync } from 'node:fs';
import { apiEvent } from '../test/support/api-gateway.ts';
import { cpuPerRequest, reportHeader, systemCpu } from './cpu.ts';
import { benchEnvironment, type ConsumerName, root, timedConsumers } from './environment.ts';
import { summarize } from './stats.ts';

const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL_WRITES ?? 300);
const CONCURRENT = Number(process.env.BENCH_WRITES ?? 2000);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 20);

const { run, topic, services, kafka, dropDatabases } = await benchEnvironment({
  name: 'writes',
  ...(process.env.BENCH_DATABASE_URL ? { database: process.env.BENCH_DATABASE_URL } : {}),
  // Capacity, not policy: one tenant's write limit (50/s) would cap the load long before the service.
  env: { RATE_LIMITS_ENABLED: 'false' },
});
const { closeAllClients } = await import('#shared/composition/shutdown');
const { getEventPublisher, getOutboxStore } = await import('#shared/composition/publish-clients');
const { getAfterCommitPublisher } = await import('#shared/composition/after-commit-publisher');
const { getRouteRepository } = await import('#shared/composition/clients');
const { getRouteCache } = await import('#shared/composition/route-cache-clients');
const { cacheKeyOf } = await import('#shared/domain/cache-entry');
const { startEventSourcePoller } = await import('../scripts/local/event-source-poller.ts');
const { startOutboxRelayLoop } = await import('../scripts/local/outbox-relay-loop.ts');
const { lambdaContext } = await import('../scripts/local/api-gateway-event.ts');
const { handler: upsert } = await import('#functions/routes/upsert-route.handler');
// Absent from versions before bulk changes (an A/B run against one of them skips (c)).
const batch = await import(`${root}functions/routes/batch-routes.handler.ts`).then(
  (m: { handler: typeof upsert }) => m.handler,
  () => null,
);

/** Answers 503 (a dependency timed out on the overloaded host), counted; the write is retried as a client would. */
let unavailable = 0;
const invoke = async (path: string, body: unknown) => {
  let res = await upsertOr(path)(apiEvent({ method: 'POST', path, body }), lambdaContext('bench'));
  for (let retry = 0; res.statusCode === 503 && retry < 5; retry++) {
    unavailable++;
    await new Promise((r) => setTimeout(r, 100));
    res = await upsertOr(path)(apiEvent({ method: 'POST', path, body }), lambdaContext('bench'));
  }
  if (res.statusCode >= 300) throw new Error(`${path} failed: ${res.statusCode} ${res.body}`);
  return JSON.parse(res.body) as { route?: { tenant: string; revision: number }; results?: unknown[] };
};
const upsertOr = (path: string) => (path.endsWith('/batch') && batch ? batch : upsert);
const route = (tenant: string, i: number) => ({ tenant, service: 'payments', env: 'prod', version: `v${i}` });

/** `n` creates (new routes), `inFlight` at a time; per-write ms and creates/s. */
const creates = async (n: number, inFlight: number, prefix: string) => {
  const samples: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) {
        const i = next++;
        const t0 = performance.now();
        await invoke('/api/v1/routes', {
          ...route(`${prefix}-${i % 50}`, i),
          url: `https://r${i}.example.com`,
        });
        samples.push(performance.now() - t0);
      }
    }),
  );
  return { samples, perSecond: Math.round(n / ((performance.now() - started) / 1000)) };
};

// ---- (a) latency and CPU, the API alone
await creates(200, 8, `${run}-warm`);
const one = await creates(SEQUENTIAL, 1, `${run}-1`);
const ten = await creates(CONCURRENT / 2, 10, `${run}-10`);
const cpu32 = await cpuPerRequest(process.pid, async () => {
  const r = await creates(CONCURRENT, 32, `${run}-32`);
  return { ...r, requests: CONCURRENT };
});

// ---- (b) one write by step, one at a time, with the write path's own adapters and settings
const repository = getRouteRepository();
const cache = getRouteCache();
const publisher = getEventPublisher();
const outbox = getOutboxStore();
const { publishLeaseMs } = getAfterCommitPublisher();
const steps = {
  commit: [] as number[],
  tombstone: [] as number[],
  publish: [] as number[],
  mark: [] as number[],
};
for (let i = 0; i < SEQUENTIAL; i++) {
  const key = route(`${run}-step`, i);
  let t = performance.now();
  const lap = (into: number[]) => {
    const now = performance.now();
    into.push(now - t);
    t = now;
  };
  const result = await repository.upsertRoute(key, `https://s${i}.example.com`, {
    changedBy: 'bench',
    correlationId: null,
    publishLeaseMs,
  });
  lap(steps.commit);
  // As the write path: a cache failure (a timeout on a busy host, an open breaker) does not fail the write.
  await cache
    ?.putIfNewer(cacheKeyOf(key), { kind: 'tombstone', revision: result.route.revision }, 66_000)
    .catch(() => false);
  lap(steps.tombstone);
  await publisher.publish([result.event!]);
  lap(steps.publish);
  await outbox.markLeasedPublished([result.event!.eventId]);
  lap(steps.mark);
}

// ---- (c) bulk changes of 100 creates, one at a time
const batchSamples: number[] = [];
const batchStarted = performance.now();
for (let b = 0; batch && b < BATCHES; b++) {
  const operations = Array.from({ length: 100 }, (_, i) => ({
    op: 'create',
    ...route(`${run}-batch-${b % 5}`, b * 100 + i),
    url: `https://b${i}.example.com`,
  }));
  const t0 = performance.now();
  await invoke('/api/v1/routes/batch', { operations });
  batchSamples.push(performance.now() - t0);
}
const batchChangesPerS = Math.round((BATCHES * 100) / ((performance.now() - batchStarted) / 1000));

// ---- (d) the whole pipeline: relay and consumers in this process too
const done: Record<ConsumerName, Map<string, number>> = {
  cacheInvalidation: new Map(),
  cacheWarming: new Map(),
  audit: new Map(),
};
const committedAt = new Map<string, number>();
const functions = await timedConsumers({ run, idOf: (v) => `${v.tenant}/${v.version}`, done, committedAt });
const relay = startOutboxRelayLoop();
// With EVENT_PUBLISHER=relay, (a)-(c) left their events in the outbox: published before (d) measures.
for (const deadline = Date.now() + 120_000; (await outbox.backlog()).count > 0; ) {
  if (Date.now() > deadline) throw new Error('the relay did not drain the outbox within 120 s');
  await new Promise((res) => setTimeout(res, 50));
}
const poller = await startEventSourcePoller({
  kafka,
  topic,
  bootstrapServers: services.kafkaBrokers,
  functions,
});
await poller.ready;
const PIPE = `${run}-pipe`;
const pipeIds = Array.from({ length: CONCURRENT }, (_, i) => `${PIPE}-${i % 50}/v${i}`);
const allApplied = () =>
  pipeIds.every((id) => (Object.keys(done) as ConsumerName[]).every((c) => done[c].has(id)));
const pipeline = await cpuPerRequest(process.pid, async () => {
  const r = await creates(CONCURRENT, 32, PIPE);
  const deadline = Date.now() + 120_000;
  while (!allApplied()) {
    if (Date.now() > deadline) throw new Error('the consumers did not apply every write within 120 s');
    await new Promise((res) => setTimeout(res, 5));
  }
  return { ...r, requests: CONCURRENT };
});
const propagation = (name: ConsumerName) =>
  summarize(pipeIds.map((id) => done[name].get(id)! - committedAt.get(id)!));
await poller.stop();
await relay.stop();
await closeAllClients();
await dropDatabases();

const total = systemCpu;
const report = {
  ...reportHeader(),
  answers_503_retried: unavailable,
  event_publisher: process.env.EVENT_PUBLISHER,
  relay_poll_interval_ms: Number(process.env.RELAY_POLL_INTERVAL_MS),
  note: 'in-process handlers (one container), shared services: CPU per process includes other sessions using Postgres, Redis, Kafka and Mongo meanwhile; "api" is this process (the load generator included)',
  write_latency_ms: {
    one_at_a_time: summarize(one.samples),
    in_flight_10: { ...summarize(ten.samples), creates_per_s: ten.perSecond },
    in_flight_32: { ...summarize(cpu32.result.samples), creates_per_s: cpu32.result.perSecond },
  },
  cpu_us_per_create_api_alone: { ...cpu32.cpu_us_per_request, total: total(cpu32.cpu_us_per_request) },
  one_write_by_step_ms: Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, summarize(v)])),
  batches_of_100: batch
    ? { batches: BATCHES, changes_per_s: batchChangesPerS, batch_ms: summarize(batchSamples) }
    : null,
  whole_pipeline: {
    creates_per_s: pipeline.result.perSecond,
    cpu_us_per_create: { ...pipeline.cpu_us_per_request, total: total(pipeline.cpu_us_per_request) },
    propagation_ms: {
      cache_invalidated: propagation('cacheInvalidation'),
      cache_warmed: propagation('cacheWarming'),
      audit_stored: propagation('audit'),
    },
  },
  goal: { cpu_us_per_create: 700, write_p50_ms_one_at_a_time: 4, propagation_p99_ms: 1000 },
};
mkdirSync(`${root}bench/results`, { recursive: true });
const file = process.env.BENCH_OUT ?? 'writes.json';
writeFileSync(`${root}bench/results/${file}`, `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));
process.exit(0);
