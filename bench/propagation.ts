// Propagation benchmark (issue 3, item 8): from a write's commit to (a) the cache warmed and (b) the
// audit document stored, through the real write handler, outbox, Kafka, event-source poller and
// consumer handlers; then consumer throughput draining a backlog. Results: bench/results/propagation.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Context, MSKEvent } from 'aws-lambda';
import { ensureServices } from '../scripts/services/services.ts';
import { apiEvent } from '../test/support/api-gateway.ts';
import { summarize } from './stats.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const DB =
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/traffic_manager_bench_events';
const WRITES = Number(process.env.BENCH_WRITES ?? 600);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 3000);
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL_WRITES ?? 200);
const run = `bench-${Date.now().toString(36)}`;
const topic = `tm-bench-propagation-${run}`;

const services = await ensureServices();
Object.assign(process.env, {
  DATABASE_URL: DB,
  KAFKA_BROKERS: services.kafkaBrokers,
  MONGO_URL: services.mongoUrl,
  MONGO_DATABASE: 'tm_bench_propagation',
  ROUTE_EVENTS_TOPIC: topic,
  METRICS_BACKEND: 'none',
  LOG_LEVEL: 'ERROR',
  STAGE: 'bench',
});

const { ensureDatabase, migrateUp } = await import('#shared/adapters/postgres/migrate');
await ensureDatabase(DB);
await migrateUp(DB);
const { closeAllClients } = await import('#shared/composition/shutdown');
const { getKafka } = await import('#shared/composition/publish-clients');
const { getPgPool } = await import('#shared/composition/clients');
const { ensureTopic } = await import('#shared/adapters/kafka/topic-admin.kafka');
const { consumerFunctions } = await import('#functions/route-table');
const { startEventSourcePoller } = await import('../scripts/local/event-source-poller.ts');
const { startOutboxRelayLoop } = await import('../scripts/local/outbox-relay-loop.ts');
const { lambdaContext } = await import('../scripts/local/api-gateway-event.ts');
const { handler: upsert } = await import('#functions/routes/upsert-route.handler');

// Nothing from earlier runs may sit in this database's outbox (the relay would publish it here).
await getPgPool().query('UPDATE route_events SET published_at = now() WHERE published_at IS NULL');
const kafka = await getKafka();
await ensureTopic(kafka, { topic, partitions: 6, replicationFactor: -1 });

type Consumer = keyof typeof consumerFunctions;
/** When each consumer finished each event, keyed `<tenant>#<revision>`; and each event's commit time. */
const done: Record<Consumer, Map<string, number>> = {
  cacheInvalidation: new Map(),
  cacheWarming: new Map(),
  audit: new Map(),
};
const committedAt = new Map<string, number>();

const loadHandler = async (name: Consumer) => {
  const spec = consumerFunctions[name];
  const mod = (await import(`${root}${spec.entry}`)) as Record<
    string,
    (e: MSKEvent, c: Context) => Promise<void>
  >;
  const real = mod[spec.handler]!;
  // Timestamps each record the moment the real handler has applied its batch.
  return async (event: MSKEvent, context: Context) => {
    await real(event, context);
    const at = Date.now();
    for (const records of Object.values(event.records)) {
      for (const r of records) {
        const v = JSON.parse(Buffer.from(r.value, 'base64').toString()) as {
          tenant: string;
          revision: number;
          occurred_at: string;
        };
        const id = `${v.tenant}#${v.revision}`;
        if (!done[name].has(id)) done[name].set(id, at);
        if (!committedAt.has(id)) committedAt.set(id, Date.parse(v.occurred_at));
      }
    }
  };
};

const functions = await Promise.all(
  (Object.keys(consumerFunctions) as Consumer[]).map(async (name) => ({
    name,
    consumerGroup: `${consumerFunctions[name].consumerGroup}-${run}`,
    handler: await loadHandler(name),
  })),
);
const startPoller = async (suffix: string) => {
  const poller = await startEventSourcePoller({
    kafka,
    topic,
    bootstrapServers: services.kafkaBrokers,
    functions: functions.map((f) => ({ ...f, consumerGroup: `${f.consumerGroup}${suffix}` })),
  });
  await poller.ready;
  return poller;
};

const waitFor = async (what: string, ok: () => boolean, timeoutMs = 120_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) {
      const counts = Object.entries(done).map(([k, m]) => `${k}=${m.size}`);
      throw new Error(`timed out waiting for ${what} (${counts.join(', ')})`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
};

const write = async (tenant: string, i: number) => {
  const res = await upsert(
    apiEvent({
      method: 'POST',
      path: '/api/v1/routes',
      body: { tenant, service: 'payments', env: 'prod', version: 'v1', url: `https://r${i}.example.com` },
    }),
    // One context per invocation, as Lambda gives: middy keeps per-request state on it.
    lambdaContext('bench'),
  );
  if (res.statusCode >= 300) throw new Error(`write failed: ${res.statusCode} ${res.body}`);
  return (JSON.parse(res.body) as { route: { revision: number } }).route.revision;
};

/** `n` writes, `concurrency` at a time, over n/4 routes (creates and updates); returns their ids. */
const writeBurst = async (n: number, concurrency: number, prefix: string): Promise<string[]> => {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const tenant = `${prefix}-${i % Math.max(1, Math.floor(n / 4))}`;
        ids.push(`${tenant}#${await write(tenant, i)}`);
      }
    }),
  );
  return ids;
};

// Phase 1: propagation, everything running: one write at a time, then WRITES with CONCURRENCY in flight
// (one process serves the writes and all three consumers here, so load shows up as queueing).
const relay = startOutboxRelayLoop();
let poller = await startPoller('');
await writeBurst(20, 2, `${run}-warmup`);
const propagationOf = async (n: number, concurrency: number, prefix: string) => {
  const burstIds = await writeBurst(n, concurrency, prefix);
  await waitFor('every consumer to apply every write', () =>
    burstIds.every((id) => done.audit.has(id) && done.cacheWarming.has(id) && done.cacheInvalidation.has(id)),
  );
  const of = (name: Consumer) => summarize(burstIds.map((id) => done[name].get(id)! - committedAt.get(id)!));
  return {
    ids: burstIds,
    stats: {
      cache_warmed: of('cacheWarming'),
      audit_stored: of('audit'),
      cache_invalidated: of('cacheInvalidation'),
    },
  };
};
const sequential = await propagationOf(SEQUENTIAL, 1, `${run}-s`);
const concurrent = await propagationOf(WRITES, CONCURRENCY, `${run}-p`);
const ids = [...sequential.ids, ...concurrent.ids];
const results = concurrent.stats;

// Phase 2: throughput. Consumers stopped, a backlog written and published, then drained by new groups.
await poller.stop();
const backlogIds = await writeBurst(BACKLOG, 32, `${run}-b`);
const unpublished = async () =>
  Number(
    (await getPgPool().query('SELECT count(*) AS n FROM route_events WHERE published_at IS NULL')).rows[0].n,
  );
while ((await unpublished()) > 0) await new Promise((r) => setTimeout(r, 50));
for (const m of Object.values(done)) for (const id of backlogIds) m.delete(id);
const started = Date.now();
poller = await startPoller('-drain');
const drainStarted = Date.now();
const finished: Partial<Record<Consumer, number>> = {};
await waitFor('the backlog to drain', () => {
  for (const name of Object.keys(done) as Consumer[]) {
    if (finished[name] === undefined && backlogIds.every((id) => done[name].has(id)))
      finished[name] = Date.now();
  }
  return Object.keys(finished).length === 3;
});
// The drain groups read the whole topic (phase 1 too): count every event they processed.
const topicEvents = ids.length + backlogIds.length + 20;
const throughput = Object.fromEntries(
  (Object.keys(done) as Consumer[]).map((name) => [
    name,
    Math.round(topicEvents / ((finished[name]! - drainStarted) / 1000)),
  ]),
);

await poller.stop();
await relay.stop();
await closeAllClients();

const report = {
  run_at: new Date().toISOString(),
  setup: {
    writes: { sequential: SEQUENTIAL, concurrent: WRITES },
    write_concurrency: CONCURRENCY,
    topic_partitions: 6,
    consumer_batch_size: 100,
    brokers: services.kafkaBrokers,
    note: 'commit time = occurred_at (stamped in the write transaction); end = the consumer handler returned',
  },
  propagation_ms: { sequential: sequential.stats, [`concurrency_${CONCURRENCY}`]: concurrent.stats },
  throughput_events_per_s: { events: topicEvents, group_join_ms: drainStarted - started, ...throughput },
  goal: { p99_ms: 1000, met: results.cache_warmed.p99_ms <= 1000 && results.audit_stored.p99_ms <= 1000 },
};
mkdirSync(`${root}bench/results`, { recursive: true });
writeFileSync(`${root}bench/results/propagation.json`, `${JSON.stringify(report, null, 2)}\n`);

const rows: Record<string, Record<string, number>> = {};
for (const [mode, stats] of [
  ['sequential', sequential.stats],
  [`concurrency ${CONCURRENCY}`, concurrent.stats],
] as const) {
  for (const [k, v] of Object.entries(stats)) {
    rows[`${k} (${mode})`] = { n: v.n, 'p50 ms': v.p50_ms, 'p99 ms': v.p99_ms, 'max ms': v.max_ms };
  }
}
console.table(rows);
console.table({ 'events/s': throughput });
console.log(
  `goal p99 <= 1000 ms: ${report.goal.met ? 'met' : 'NOT met'}; wrote bench/results/propagation.json`,
);
process.exit(0);
