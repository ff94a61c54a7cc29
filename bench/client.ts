// Client benchmark (issue 13): how many resolves a second one process serves through the TypeScript
// client (clients/typescript) and how many requests it sends to the API meanwhile. The API is the
// sources runner (`npm run dev`); a counting proxy in this process sits in front of it, so "requests"
// are what reached the API, not what the client believes it sent. Results: bench/results/client.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type ClientOptions, TrafficManagerClient } from '../clients/typescript/src/client.ts';
import { ClientProxy } from '../test/support/client-proxy.ts';
import { startLocalApi } from '../test/support/local-runner.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const DB = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/traffic_manager_bench';
const DURATION_S = Number(process.env.BENCH_CLIENT_DURATION ?? 10);
const ROUTES = Number(process.env.BENCH_CLIENT_ROUTES ?? 100);
const CONCURRENCY = 64;
/** One resolve in this many has its latency recorded (timing every hit would cost as much as the hit). */
const SAMPLE_EVERY = 64;
/**
 * Each caller lets the event loop turn this often: a cache hit resolves in a microtask, so callers that
 * never yield would starve the I/O of a revalidation in flight (a real service's callers arrive by I/O).
 */
const YIELD_EVERY = 256;

const { ensureDatabase, migrateUp } = await import('#shared/adapters/postgres/migrate');
await ensureDatabase(DB);
await migrateUp(DB);
// Auth and rate limits off: the bench measures the client, not the limits a token would meet.
const api = await startLocalApi({
  DATABASE_URL: DB,
  LOG_LEVEL: 'ERROR',
  AUTH_MODE: 'off',
  LOCAL_EVENT_WORKERS: 'off',
  RATE_LIMITS_ENABLED: 'false',
});
const proxy = await new ClientProxy(api.url).start();

const run = `bench-client-${Date.now().toString(36)}`;
const keys = Array.from({ length: ROUTES }, (_, i) => ({
  tenant: run,
  service: 'payments',
  env: 'prod',
  version: `v${i}`,
}));
const setup = new TrafficManagerClient({ baseUrl: api.url });
for (const key of keys)
  await setup.createRoute({ ...key, url: `https://payments.example.com/${key.version}` });

interface Scenario {
  readonly name: string;
  readonly note: string;
  readonly concurrency: number;
  /** Resolve through the client with these cache settings, or (undefined) with a plain fetch per call. */
  readonly cache: ClientOptions['cache'] | undefined;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'cached_sequential',
    note: 'one caller, maxAgeMs 1000 (the default): hits from memory, one revalidation per route a second',
    concurrency: 1,
    cache: { maxAgeMs: 1_000 },
  },
  {
    name: 'cached_concurrent_64',
    note: '64 concurrent callers in one process, maxAgeMs 1000: revalidations of a route are coalesced',
    concurrency: CONCURRENCY,
    cache: { maxAgeMs: 1_000 },
  },
  {
    name: 'revalidate_every_call_64',
    note: 'maxAgeMs 0: every resolve asks with If-None-Match (304), 64 concurrent callers',
    concurrency: CONCURRENCY,
    cache: { maxAgeMs: 0 },
  },
  {
    name: 'no_client_64',
    note: 'baseline without the client: a plain fetch of resolve per call (200 with the body), 64 concurrent',
    concurrency: CONCURRENCY,
    cache: undefined,
  },
];

const percentile = (sorted: Float64Array, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

const measure = async (s: Scenario) => {
  const client = new TrafficManagerClient({ baseUrl: proxy.url, ...(s.cache ? { cache: s.cache } : {}) });
  const resolve = s.cache
    ? (key: (typeof keys)[number]) => client.resolve(key)
    : async (key: (typeof keys)[number]) => {
        const res = await fetch(`${proxy.url}/api/v1/routes/resolve?${new URLSearchParams(key)}`);
        await res.text();
      };
  // Warm: every route known once (and the connections open) before the clock starts.
  await Promise.all(keys.map((k) => resolve(k)));
  const fromLog = proxy.log.length;
  const samples: number[] = [];
  let resolves = 0;
  const started = performance.now();
  const end = started + DURATION_S * 1000;
  const caller = async (offset: number) => {
    for (let i = offset; performance.now() < end; i++) {
      const key = keys[i % keys.length]!;
      if (i % SAMPLE_EVERY === 0) {
        const t0 = performance.now();
        await resolve(key);
        samples.push(performance.now() - t0);
      } else {
        await resolve(key);
      }
      resolves++;
      if (i % YIELD_EVERY === 0) await new Promise(setImmediate);
    }
  };
  await Promise.all(Array.from({ length: s.concurrency }, (_, c) => caller(c * 7)));
  const elapsedS = (performance.now() - started) / 1000;
  const sent = proxy.log.slice(fromLog);
  const statuses: Record<string, number> = {};
  for (const e of sent) statuses[e.status] = (statuses[e.status] ?? 0) + 1;
  const sorted = Float64Array.from(samples).sort();
  return {
    note: s.note,
    concurrency: s.concurrency,
    resolves,
    resolves_per_s: Math.round(resolves / elapsedS),
    api_requests: sent.length,
    api_requests_per_s: Math.round((sent.length / elapsedS) * 10) / 10,
    api_statuses: statuses,
    resolves_per_api_request: sent.length ? Math.round(resolves / sent.length) : null,
    latency_us: {
      p50: Math.round(percentile(sorted, 50) * 1000 * 10) / 10,
      p99: Math.round(percentile(sorted, 99) * 1000 * 10) / 10,
      max: Math.round((sorted.at(-1) ?? Number.NaN) * 1000),
    },
    ...(s.cache ? { client_stats: client.stats() } : {}),
  };
};

const results: Record<string, Awaited<ReturnType<typeof measure>>> = {};
try {
  for (const s of SCENARIOS) {
    results[s.name] = await measure(s);
    const r = results[s.name]!;
    console.log(
      `${s.name.padEnd(26)} ${String(r.resolves_per_s).padStart(10)} resolves/s  ` +
        `${String(r.api_requests_per_s).padStart(8)} API requests/s  p50 ${r.latency_us.p50} µs  p99 ${r.latency_us.p99} µs`,
    );
  }
} finally {
  await proxy.kill();
  await api.stop();
}

const out = {
  run_at: new Date().toISOString(),
  setup: {
    routes: ROUTES,
    duration_s: DURATION_S,
    node: process.version,
    cpus: cpus().length,
    api: 'npm run dev (sources runner, one process) on this machine, auth and rate limits off, Redis cache on',
    client_process:
      'this process: the client, its callers and the counting proxy (which handles only what reaches the API)',
    latency_sampling: `one resolve in ${SAMPLE_EVERY}, timed around the await`,
  },
  scenarios: results,
};
mkdirSync(`${root}bench/results`, { recursive: true });
writeFileSync(`${root}bench/results/client.json`, `${JSON.stringify(out, null, 2)}\n`);
console.log('wrote bench/results/client.json');
process.exit(0);
