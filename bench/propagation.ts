// Propagation benchmark (issue 3, item 8): from a write's commit to (a) the cache warmed and (b) the
// audit document stored, through the real write handler, outbox, Kafka, event-source poller and
// consumer handlers; then consumer throughput draining a backlog. Results: bench/results/propagation.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { apiEvent } from '../test/support/api-gateway.ts';
import { benchEnvironment, type ConsumerName, root, timedConsumers } from './environment.ts';
import { summarize } from './stats.ts';

const WRITES = Number(process.env.BENCH_WRITES ?? 600);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 3000);
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL_WRITES ?? 200);

const { run, topic, services, kafka, dropDatabases } = await benchEnvironment({
  name: 'propagation',
  ...(process.env.BENCH_DATABASE_URL ? { database: process.env.BENCH_DATABASE_URL } : {}),
});
const { closeAllClients } = await import('#shared/composition/shutdown');
const { getPgPool } = await import('#shared/composition/clients');
const { startEventSourcePoller } = await import('../scripts/local/event-source-poller.ts');
const { startOutboxRelayLoop } = await import('../scripts/local/outbox-relay-loop.ts');
const { lambdaContext } = await import('../scripts/local/api-gateway-event.ts');
const { handler: upsert } = await import('#functions/routes/upsert-route.handler');

/** When each consumer finished each event, keyed `<tenant>#<revision>`; and each event's commit time. */
const done: Record<ConsumerName, Map<string, number>> = {
  cacheInvalidation: new Map(),
  cacheWarming: new Map(),
  audit: new Map(),
};
const committedAt = new Map<string, number>();
const functions = await timedConsumers({ run, idOf: (v) => `${v.tenant}#${v.revision}`, done, committedAt });
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
  const of = (name: ConsumerName) =>
    summarize(burstIds.map((id) => done[name].get(id)! - committedAt.get(id)!));
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
const finished: Partial<Record<ConsumerName, number>> = {};
await waitFor('the backlog to drain', () => {
  for (const name of Object.keys(done) as ConsumerName[]) {
    if (finished[name] === undefined && backlogIds.every((id) => done[name].has(id)))
      finished[name] = Date.now();
  }
  return Object.keys(finished).length === 3;
});
// The drain groups read the whole topic (phase 1 too): count every event they processed. Timed from
// the poller's start, joining included: a group may finish a small backlog before the join is reported.
const topicEvents = ids.length + backlogIds.length + 20;
const throughput = Object.fromEntries(
  (Object.keys(done) as ConsumerName[]).map((name) => [
    name,
    Math.round(topicEvents / ((finished[name]! - started) / 1000)),
  ]),
);

await poller.stop();
await relay.stop();
await closeAllClients();
await dropDatabases();

const report = {
  run_at: new Date().toISOString(),
  setup: {
    writes: { sequential: SEQUENTIAL, concurrent: WRITES },
    write_concurrency: CONCURRENCY,
    topic_partitions: 6,
    consumer_batch_size: 100,
    brokers: services.kafkaBrokers,
    // Who publishes (EVENT_PUBLISHER) and the relay's poll (RELAY_POLL_INTERVAL_MS): the deployed stacks
    // run `relay` at 100 ms.
    event_publisher: process.env.EVENT_PUBLISHER,
    relay_poll_interval_ms: Number(process.env.RELAY_POLL_INTERVAL_MS),
    note: 'commit time = occurred_at (stamped in the write transaction); end = the consumer handler returned',
  },
  propagation_ms: { sequential: sequential.stats, [`concurrency_${CONCURRENCY}`]: concurrent.stats },
  throughput_events_per_s: { events: topicEvents, group_join_ms: drainStarted - started, ...throughput },
  goal: { p99_ms: 1000, met: results.cache_warmed.p99_ms <= 1000 && results.audit_stored.p99_ms <= 1000 },
};
mkdirSync(`${root}bench/results`, { recursive: true });
writeFileSync(
  `${root}bench/results/${process.env.BENCH_OUT ?? 'propagation.json'}`,
  `${JSON.stringify(report, null, 2)}\n`,
);

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
