// Split benchmark (issue 14): resolve without a version (a split hit: one cache read, then the key's hash)
// beside resolve with a version (a route hit), in process and through the local HTTP API.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiEvent } from '../test/support/api-gateway.ts';
import { startLocalApi } from '../test/support/local-runner.ts';
import { benchDatabase } from './environment.ts';
import { underLoad } from './load.ts';
import { summarize, timeEach } from './stats.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
// A database of its own: the bench database of other branches need not carry this branch's migration.
const DB =
  process.env.BENCH_SPLIT_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/traffic_manager_bench_splits';
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const N = Number(process.env.BENCH_N ?? 20_000);
const DURATION = Number(process.env.BENCH_DURATION ?? 15);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);

await benchDatabase(DB, {
  REDIS_URL: REDIS,
  RATE_LIMITS_ENABLED: 'false', // capacity, not policy (as bench/core.ts)
});

const ctx = (await import('../scripts/local/api-gateway-event.ts')).lambdaContext('bench');
const split = { tenant: `bench-${Date.now().toString(36)}`, service: 'payments', env: 'prod' };
const { handler: upsert } = await import('#functions/routes/upsert-route.handler');
const { handler: changeSplit } = await import('#functions/splits/change-split.handler');
const { handler: resolveHandler } = await import('#functions/routes/resolve-route.handler');
for (const version of ['v2', 'v3']) {
  const body = { ...split, version, url: `https://${version}.payments.example.com/` };
  await upsert(apiEvent({ method: 'POST', path: '/api/v1/routes', body }), ctx);
}
const put = await changeSplit(
  apiEvent({ method: 'PUT', path: '/api/v1/splits', body: { ...split, weights: { v2: 90, v3: 10 } } }),
  ctx,
);
if (put.statusCode !== 201) throw new Error(`PUT /api/v1/splits answered ${put.statusCode}: ${put.body}`);

// (a) in process, alternating rounds so both see the same machine: the route hit and the split hit (keys
// vary, so the bucket is hashed on every call; the split's entry is the same cache read for all).
const withVersion = apiEvent({ path: '/api/v1/routes/resolve', query: { ...split, version: 'v2' } });
const keyed = Array.from({ length: 1000 }, (_, i) =>
  apiEvent({ path: '/api/v1/routes/resolve', query: { ...split, key: `customer-${i}` } }),
);
const ROUNDS = 10;
const routeSamples: number[] = [];
const splitSamples: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  routeSamples.push(
    ...(await timeEach(N / ROUNDS, r === 0 ? 2000 : 200, () => resolveHandler(withVersion, ctx))),
  );
  splitSamples.push(
    ...(await timeEach(N / ROUNDS, r === 0 ? 2000 : 200, (i) =>
      resolveHandler(keyed[i % keyed.length]!, ctx),
    )),
  );
}
const perSecond = (samples: number[]) =>
  Math.round(samples.length / (samples.reduce((a, b) => a + b, 0) / 1000));
const inProcess = {
  route_hit: { ...summarize(routeSamples), sequential_per_s: perSecond(routeSamples) },
  split_hit: { ...summarize(splitSamples), sequential_per_s: perSecond(splitSamples) },
};
const { closeAllClients } = await import('#shared/composition/shutdown');
await closeAllClients();

// (b) the local HTTP API under autocannon -c 32, as bench/core.ts (d) measures resolve.
const api = await startLocalApi({
  DATABASE_URL: DB,
  REDIS_URL: REDIS,
  LOG_LEVEL: 'ERROR',
  RATE_LIMITS_ENABLED: 'false',
  LOCAL_EVENT_WORKERS: 'off',
});
const load = { pid: api.process.pid!, connections: 32, warmupS: WARMUP, durationS: DURATION };
const url = (q: Record<string, string>) => `${api.url}/api/v1/routes/resolve?${new URLSearchParams(q)}`;
let next = 0;
const http = {
  route_hit: await underLoad(load, { url: url({ ...split, version: 'v2' }) }),
  split_hit_keyed: await underLoad(load, {
    url: url(split),
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          path: `/api/v1/routes/resolve?${new URLSearchParams({ ...split, key: `customer-${next++ % 1000}` })}`,
        }),
      },
    ],
  }),
  split_hit_random: await underLoad(load, { url: url(split) }),
};
await api.stop();

const results = {
  when: new Date().toISOString(),
  machine: 'shared 2-core machine; the API, Postgres, Redis, Kafka and the load generator share the cores',
  split: { weights: { v2: 90, v3: 10 } },
  in_process: inProcess,
  in_process_split_to_route_p50:
    Math.round((inProcess.split_hit.p50_ms / inProcess.route_hit.p50_ms) * 100) / 100,
  http_c32: http,
};
writeFileSync(resolve(root, 'bench/results/split.json'), `${JSON.stringify(results, null, 2)}\n`);
console.table({
  'resolve with a version (route hit), in process': inProcess.route_hit,
  'resolve without a version (split hit), in process': inProcess.split_hit,
});
console.table(
  Object.fromEntries(
    Object.entries(http).map(([k, v]) => [
      k,
      { req_per_s: v.req_per_s, p50_ms: v.p50_ms, p99_ms: v.p99_ms, non_2xx: v.non_2xx },
    ]),
  ),
);
process.exit(0);
