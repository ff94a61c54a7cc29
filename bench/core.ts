// Core benchmark (issue 2, item 10): Redis GET vs the resolve handler in process, a resolve miss, the
// local HTTP API under autocannon, and bundle size / time-to-first-response per handler.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type autocannon from 'autocannon';
import { build } from 'esbuild';
import { Redis } from 'ioredis';
import { LAMBDA_EXTERNAL_MODULES, LAMBDA_MODULE_ALIASES } from '../infra/bundling.ts';
import { apiEvent } from '../test/support/api-gateway.ts';
import { startLocalApi } from '../test/support/local-runner.ts';
import { benchDatabase } from './environment.ts';
import { underLoad } from './load.ts';
import { summarize, timeEach } from './stats.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const DB = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/traffic_manager_bench';
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const N = Number(process.env.BENCH_N ?? 20_000);
const DURATION = Number(process.env.BENCH_DURATION ?? 15);

await benchDatabase(DB, {
  REDIS_URL: REDIS,
  // Only so the token functions can start for the cold-start measurement; no token is made here.
  TOKEN_HASH_KEY: 'bench-only-token-hash-key-0123456789abcdef',
  // Capacity, not policy (see below): the in-process part resolves one tenant far above its limit.
  RATE_LIMITS_ENABLED: 'false',
});

const ctx = (await import('../scripts/local/api-gateway-event.ts')).lambdaContext('bench');
const run = `bench-${Date.now().toString(36)}`;
const key = { tenant: run, service: 'payments', env: 'prod', version: 'v2' };

// The Lambda bundles, as the CDK stack builds them: (b) runs the resolve bundle, (e) measures them all.
// Inside the project so the bundles resolve the AWS SDK from node_modules, as Lambda provides it.
mkdirSync(resolve(root, '.local'), { recursive: true });
const outDir = mkdtempSync(resolve(root, '.local/bench-bundles-'));
const bare = join(outDir, 'bare.ts');
writeFileSync(bare, "export const handler = async () => ({ statusCode: 200, body: '{}' });\n");
const { lambdaFunctions } = await import('#functions/route-table');
const entries: Record<string, string> = { bare };
for (const [id, spec] of Object.entries(lambdaFunctions)) entries[id] = resolve(root, spec.entry);
await build({
  entryPoints: entries,
  outdir: outDir,
  bundle: true,
  minify: true,
  sourcemap: false,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  // The same externals and aliases as the CDK stack's bundles (infra/bundling.ts).
  external: LAMBDA_EXTERNAL_MODULES,
  alias: LAMBDA_MODULE_ALIASES,
  absWorkingDir: root,
  mainFields: ['module', 'main'],
  banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
  logLevel: 'error',
});
// (a) raw Redis GET on loopback, and (b) the resolve handler in process on a cache hit: the handler as
// bundled for Lambda (minified, no TypeScript loader in the way). Measured in alternating rounds, so
// that drift on a shared machine (it is the same Redis round trip underneath) hits both sides alike.
const redis = new Redis(REDIS);
await redis.set('bench:raw', '1|A|https://payments.example.com/v2');
const { handler: upsert } = await import('#functions/routes/upsert-route.handler');
const { handler: resolveHandler } = await import('#functions/routes/resolve-route.handler');
const { handler: bundledResolve } = (await import(pathToFileURL(join(outDir, 'resolveRoute.mjs')).href)) as {
  handler: typeof resolveHandler;
};
await upsert(
  apiEvent({
    method: 'POST',
    path: '/api/v1/routes',
    body: { ...key, url: 'https://payments.example.com/v2' },
  }),
  ctx,
);
const hitEvent = apiEvent({ path: '/api/v1/routes/resolve', query: key });
const ROUNDS = 10;
const rawSamples: number[] = [];
const hitSamples: number[] = [];
const roundRatios: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const raw = await timeEach(N / ROUNDS, r === 0 ? 2000 : 200, () => redis.get('bench:raw'));
  const hits = await timeEach(N / ROUNDS, r === 0 ? 2000 : 200, () => bundledResolve(hitEvent, ctx));
  rawSamples.push(...raw);
  hitSamples.push(...hits);
  roundRatios.push(summarize(hits).p50_ms / summarize(raw).p50_ms);
}
const rawGet = summarize(rawSamples);
const hit = summarize(hitSamples);
const ratioMedian = [...roundRatios].sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;

// (c) resolve on a miss: distinct existing routes, each resolved once (cache-aside fill included)
const MISSES = 2000;
for (let i = 0; i < MISSES; i++) {
  await upsert(
    apiEvent({
      method: 'POST',
      path: '/api/v1/routes',
      body: { ...key, version: `m${i}`, url: `https://m.example.com/${i}` },
    }),
    ctx,
  );
}
const miss = summarize(
  await timeEach(MISSES, 0, (i) =>
    resolveHandler(apiEvent({ path: '/api/v1/routes/resolve', query: { ...key, version: `m${i}` } }), ctx),
  ),
);
redis.disconnect();
const { closeAllClients } = await import('#shared/composition/shutdown');
await closeAllClients();

// (d) the local HTTP API under autocannon -c 32
// Capacity, not policy: per-tenant rate limits (2,000 resolves/s and 50 writes/s per tenant by default)
// would cap this single-tenant load long before the service does, so the bench turns them off.
const RATE_LIMITS = process.env.BENCH_RATE_LIMITS ?? 'false';
// The API alone, as in AWS where the relay and consumers are separate functions: LOCAL_EVENT_WORKERS=off
// keeps them out of this process (the write path publishes to Kafka after commit: EVENT_PUBLISHER's default).
const WORKERS = process.env.BENCH_EVENT_WORKERS ?? 'off';
const api = await startLocalApi({
  DATABASE_URL: DB,
  REDIS_URL: REDIS,
  LOG_LEVEL: 'ERROR',
  RATE_LIMITS_ENABLED: RATE_LIMITS,
  LOCAL_EVENT_WORKERS: WORKERS,
});
// With where the CPU went per request (bench/cpu.ts): on 2 cores the API, Postgres, Redis, Kafka and the
// load generator compete, so one process's cost is everyone's throughput.
// Each scenario first runs WARMUP seconds unmeasured: the JVM (Kafka) and V8 compile their hot paths then,
// not during the measurement (a freshly started broker spent 700 us of CPU per produced event).
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const load = { pid: api.process.pid!, connections: 32, warmupS: WARMUP, durationS: DURATION };
const cannon = (opts: autocannon.Options) => underLoad(load, opts);
const q = (k: Record<string, string>) => `${api.url}/api/v1/routes/resolve?${new URLSearchParams(k)}`;
const httpHit = await cannon({ url: q(key) });
const httpNegative = await cannon({ url: q({ ...key, version: 'missing' }) });
let seq = 0;
const httpCreate = await cannon({
  url: `${api.url}/api/v1/routes`,
  requests: [
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => ({
        ...req,
        body: JSON.stringify({ ...key, version: `c${seq++}`, url: 'https://c.example.com' }),
      }),
    },
  ],
});
await api.stop();

// (e) time to first response from a fresh process, for each bundle built above
const coldStart = (file: string, event: unknown): Promise<number> =>
  new Promise((ok, fail) => {
    const script = `const t=performance.now();const m=await import(${JSON.stringify(file)});await m.handler(${JSON.stringify(event)},{getRemainingTimeInMillis:()=>3000,awsRequestId:'x'});console.log(performance.now()+performance.timeOrigin-${Date.now()});process.exit(0)`;
    const started = performance.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        ...process.env,
        DATABASE_URL: DB,
        REDIS_URL: REDIS,
        METRICS_BACKEND: 'none',
        LOG_LEVEL: 'ERROR',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout.once('data', () => ok(performance.now() - started));
    child.once('exit', (code) => code !== 0 && fail(new Error(`${file} exited ${code}`)));
  });
const healthEvent = apiEvent({ path: '/health' });
const bundles: Record<string, { bytes: number; first_response_ms: number }> = {};
for (const id of Object.keys(entries)) {
  const file = join(outDir, `${id}.mjs`);
  const event =
    id === 'resolveRoute' ? hitEvent : id === 'health' ? healthEvent : apiEvent({ path: '/health' });
  const times: number[] = [];
  for (let i = 0; i < 3; i++) times.push(await coldStart(file, event));
  bundles[id] = { bytes: statSync(file).size, first_response_ms: Math.round(Math.min(...times)) };
}
rmSync(outDir, { recursive: true, force: true });

const results = {
  measured_at: new Date().toISOString(),
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
  redis_get: rawGet,
  resolve_handler_hit: {
    ...hit,
    bundle: 'resolveRoute.mjs (as the CDK stack bundles it)',
    p50_ratio_to_redis_get: Math.round((hit.p50_ms / rawGet.p50_ms) * 100) / 100,
    p50_ratio_median_of_rounds: Math.round(ratioMedian * 100) / 100,
  },
  resolve_handler_miss: miss,
  http: {
    connections: 32,
    duration_s: DURATION,
    warmup_s: WARMUP,
    resolve_hit: httpHit,
    resolve_negative: httpNegative,
    create: httpCreate,
  },
  bundles,
};
writeFileSync(resolve(root, 'bench/results/core.json'), `${JSON.stringify(results, null, 2)}\n`);

console.table({
  'redis GET': { p50_ms: rawGet.p50_ms, p99_ms: rawGet.p99_ms },
  'resolve handler (hit)': {
    p50_ms: hit.p50_ms,
    p99_ms: hit.p99_ms,
    ratio: results.resolve_handler_hit.p50_ratio_to_redis_get,
    ratio_median_of_rounds: results.resolve_handler_hit.p50_ratio_median_of_rounds,
  },
  'resolve handler (miss)': { p50_ms: miss.p50_ms, p99_ms: miss.p99_ms },
});
const row = ({ cpu_us_per_request, statuses, ...rest }: typeof httpHit) => rest;
console.table({
  'HTTP resolve hit': row(httpHit),
  'HTTP resolve negative': row(httpNegative),
  'HTTP create': row(httpCreate),
});
console.log('CPU microseconds per request, by process:');
console.table({
  'HTTP resolve hit': httpHit.cpu_us_per_request,
  'HTTP resolve negative': httpNegative.cpu_us_per_request,
  'HTTP create': httpCreate.cpu_us_per_request,
});
console.table(bundles);
console.log('written to bench/results/core.json');
process.exit(0);
