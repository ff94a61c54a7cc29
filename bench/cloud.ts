// Local cloud benchmark: (1) resolve under load through `npm start` (the synthesized `local` stage, each
// function in its own Node 22 container behind the template's REST API) beside `npm run dev` (the sources,
// one Node process), in alternating rounds; (2) each function's cold start on Node 22 and its bundle size.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { reservedConcurrencyOf, stages } from '../infra/config/stages.ts';
import { type Assembly, synthesize } from '../scripts/cloud/assembly.ts';
import { type InvokeResult, startFunction } from '../scripts/cloud/lambda-container.ts';
import { ensureLambdaRuntime, stageTask } from '../scripts/cloud/lambda-runtime.ts';
import { endpointEnvironment, startLocalAws } from '../scripts/cloud/local-aws.ts';
import { clusterArnOf, localResourceMap, localSecrets } from '../scripts/cloud/local-resources.ts';
import { templateFunctions } from '../scripts/cloud/template-functions.ts';
import { deployActions } from '../scripts/cloud/triggers.ts';
import { toAuthorizerEvent } from '../scripts/local/api-gateway-event.ts';
import { hostPortOf } from '../scripts/local/discover.ts';
import { ensureServices } from '../scripts/services/services.ts';
import { apiEvent } from '../test/support/api-gateway.ts';
import { type RunningApi, startLocalApi, startLocalCloud } from '../test/support/local-runner.ts';
import { type LoadResult, underLoad } from './load.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const DB = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/traffic_manager_bench';
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The local cloud's own admin connection (it creates its database and master user through it). */
const CLOUD_ADMIN_DB = 'postgres://postgres@127.0.0.1:5432/postgres';
const WARMUP = Number(process.env.BENCH_CLOUD_WARMUP ?? 10);
const DURATION = Number(process.env.BENCH_CLOUD_DURATION ?? 10);
const ROUNDS = Number(process.env.BENCH_CLOUD_ROUNDS ?? 2);
const COLD_STARTS = 3;
const CONNECTIONS = 32;
const ROUTES = 8;
const TUNING = { RATE_LIMITS_ENABLED: 'false' };

const round1 = (n: number) => Math.round(n * 10) / 10;
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

// ---- (1) resolve under load: the sources runner (A) and the local cloud (B), A B A B ----------------
const { ensureDatabase, migrateUp } = await import('#shared/adapters/postgres/migrate');
await ensureDatabase(DB);
await migrateUp(DB);

// Capacity, not policy: rate limits off for both (per-tenant limits would cap a one-tenant load). Auth is
// off on loopback for both (every call acts as the all-tenant admin).
const sources = await startLocalApi({
  DATABASE_URL: DB,
  REDIS_URL: REDIS,
  LOG_LEVEL: 'ERROR',
  AUTH_MODE: 'off',
  LOCAL_EVENT_WORKERS: 'off',
  ...TUNING,
});
const cloud = await startLocalCloud({ AUTH_MODE: 'off', LOCAL_CLOUD_FUNCTION_ENV: JSON.stringify(TUNING) });
// start.ts scales database-using functions' concurrency down when their pools would exceed its budget.
const concurrencyScale = Number(/concurrency is scaled by ([\d.]+)/.exec(cloud.output())?.[1] ?? 1);

const run = `bench-${Date.now().toString(36)}`;
const keys = Array.from({ length: ROUTES }, (_, i) => ({
  tenant: run,
  service: 'payments',
  env: 'prod',
  version: `v${i}`,
}));
const createRoutes = async (api: RunningApi) => {
  for (const key of keys) {
    const res = await fetch(`${api.url}/api/v1/routes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...key, url: `https://payments.example.com/${key.version}` }),
    });
    if (!res.ok) throw new Error(`creating a route on ${api.url}: ${res.status} ${await res.text()}`);
  }
};
await createRoutes(sources);
await createRoutes(cloud);
const resolveRequests = keys.map((key) => ({
  method: 'GET' as const,
  path: `/api/v1/routes/resolve?${new URLSearchParams(key)}`,
}));

// Resolve's containers in the local cloud: its reserved concurrency in the local stage, scaled as start.ts does.
const resolveReserved = reservedConcurrencyOf(stages.local, 'resolveRoute') ?? null;
const resolveLocal = Math.max(1, Math.floor((resolveReserved ?? 8) * concurrencyScale));
type Target = 'sources' | 'cloud' | 'cloud_at_capacity';
const targets: { name: Target; api: RunningApi; connections: number; warmupS: number }[] = [
  { name: 'sources', api: sources, connections: CONNECTIONS, warmupS: WARMUP },
  { name: 'cloud', api: cloud, connections: CONNECTIONS, warmupS: WARMUP },
  // As many connections as resolve has containers: the cloud's capacity without throttles.
  { name: 'cloud_at_capacity', api: cloud, connections: resolveLocal, warmupS: 2 },
];
const rounds: Record<Target, LoadResult[]> = { sources: [], cloud: [], cloud_at_capacity: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const t of targets) {
    const settings = {
      pid: t.api.process.pid!,
      connections: t.connections,
      warmupS: t.warmupS,
      durationS: DURATION,
    };
    const result = await underLoad(settings, { url: t.api.url, requests: resolveRequests });
    rounds[t.name].push(result);
    console.log(`round ${r + 1} ${t.name}: ${result.req_per_s} req/s, ${result.ok_per_s} 2xx/s`);
  }
}
await sources.stop();
await cloud.stop();

const summaryOf = (results: readonly LoadResult[]) => ({
  req_per_s: Math.round(median(results.map((x) => x.req_per_s))),
  ok_per_s: Math.round(median(results.map((x) => x.ok_per_s))),
  p50_ms: median(results.map((x) => x.p50_ms)),
  p99_ms: median(results.map((x) => x.p99_ms)),
  non_2xx: median(results.map((x) => x.non_2xx)),
  errors: median(results.map((x) => x.errors)),
  load_generator_cpu_us_per_request: median(results.map((x) => x.cpu_us_per_request.load_generator ?? 0)),
});

// ---- (2) cold start of every function of the `local` stage, as the local cloud runs it --------------
// The same setup as scripts/cloud/start.ts, whose run above has deployed the stores (database and master
// user, tables, migrations, topic) with the same per-checkout secret seed.
const assembly: Assembly = await synthesize(root, 'local', () => {});
const services = await ensureServices();
const seed = readFileSync(join(root, '.local', 'cloud', 'secret-seed'), 'utf8').trim();
const secrets = localSecrets(assembly.stacks, seed);
const kafkaClusters: Record<string, { bootstrapBrokers: string }> = {};
for (const stack of assembly.stacks) {
  for (const [id, r] of Object.entries(stack.template.Resources)) {
    if (r.Type === 'AWS::MSK::Cluster') {
      kafkaClusters[clusterArnOf(stack, id)] = { bootstrapBrokers: services.kafkaBrokers };
    }
  }
}
const scratch = mkdtempSync(join(tmpdir(), 'bench-cloud-'));
const localAws = await startLocalAws({
  secrets,
  kafkaClusters,
  deadLetterFile: join(scratch, 'dead-letters.jsonl'),
  log: () => {},
});
const resources = localResourceMap({
  postgres: hostPortOf(CLOUD_ADMIN_DB, 5432),
  redis: hostPortOf(REDIS, 6379),
  kafkaBrokers: services.kafkaBrokers,
  mongo: hostPortOf(services.mongoUrl, 27017),
  localAws: localAws.endpoint,
});
const secretValue = (id: string, key: string | undefined): string => {
  const raw = secrets[id];
  if (raw === undefined) throw new Error(`no local secret ${id}`);
  return key ? String((JSON.parse(raw) as Record<string, unknown>)[key]) : raw;
};
const fns = templateFunctions(assembly, resources, secretValue);
const runtime = await ensureLambdaRuntime();
const runtimeEnv = {
  ...endpointEnvironment(localAws.endpoint),
  AWS_ENDPOINT_URL_DYNAMODB: services.dynamoEndpoint,
  AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
  AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000',
};

/** A harmless first event for each function: reads, an idempotent write of a bench route, no-op deploys. */
const key = keys[0]!;
const deployEvents = new Map(
  assembly.stacks.flatMap((stack) =>
    deployActions(stack).map((a) => [
      a.functionId,
      {
        RequestType: 'Create',
        ServiceToken: 'local',
        ResponseURL: 'http://127.0.0.1/unused',
        StackId: `arn:aws:cloudformation:us-east-1:000000000000:stack/${stack.stackName}/local`,
        RequestId: 'bench',
        LogicalResourceId: a.logicalId,
        ResourceType: a.resourceType,
        ResourceProperties: {
          ServiceToken: 'local',
          ...Object.fromEntries(Object.entries(a.properties).filter(([, v]) => typeof v !== 'object')),
        },
      },
    ]),
  ),
);
const mskEvent = {
  eventSource: 'aws:kafka',
  eventSourceArn: Object.keys(kafkaClusters)[0],
  bootstrapServers: services.kafkaBrokers,
  records: {},
};
const unauthenticated = {
  method: 'GET',
  rawHeaders: ['Authorization', 'Bearer not-a-token'],
  httpVersion: '1.1',
  socket: {},
} as unknown as IncomingMessage;
const firstEvents: Record<string, { event: unknown; what: string; env?: Record<string, string> }> = {
  resolveRoute: {
    event: apiEvent({ path: '/api/v1/routes/resolve', query: key }),
    what: 'GET resolve (a bench route)',
  },
  upsertRoute: {
    event: apiEvent({
      method: 'POST',
      path: '/api/v1/routes',
      body: { ...key, url: `https://payments.example.com/${key.version}` },
    }),
    what: 'POST routes (the same bench route again)',
  },
  setRouteState: {
    event: apiEvent({ method: 'POST', path: '/api/v1/routes/activate', body: key }),
    what: 'POST activate (an active bench route)',
  },
  routeQuery: {
    event: apiEvent({ path: '/api/v1/routes', query: { tenant: key.tenant, limit: '1' } }),
    what: "GET routes?tenant=…&limit=1 (the bench tenant's list)",
  },
  batchRoutes: {
    event: apiEvent({ method: 'POST', path: '/api/v1/routes/batch', body: { operations: [] } }),
    what: 'POST routes/batch without operations (a 400: nothing applied)',
  },
  splitQuery: {
    event: apiEvent({
      path: '/api/v1/splits',
      query: { tenant: key.tenant, service: key.service, env: key.env },
    }),
    what: 'GET splits (none: a 404)',
  },
  changeSplit: {
    event: apiEvent({ method: 'PUT', path: '/api/v1/splits', body: {} }),
    what: 'PUT splits with an empty body (a 400: nothing changed)',
  },
  health: { event: apiEvent({ path: '/health' }), what: 'GET /health' },
  auditQuery: {
    event: apiEvent({ path: '/api/v1/audit/recent', query: { days: '1', limit: '1' } }),
    what: 'GET audit/recent?limit=1',
  },
  tokens: { event: apiEvent({ path: '/api/v1/admin/tokens' }), what: 'GET admin/tokens' },
  authorizer: {
    event: toAuthorizerEvent(
      unauthenticated,
      new URL('http://localhost/api/v1/routes/resolve'),
      '/api/v1/routes/resolve',
    ),
    what: 'an unknown bearer token (answer: Unauthorized)',
  },
  bootstrapAdminToken: {
    event: { expires_in_days: 0 },
    what: 'an invalid payload (rejected: no token made)',
  },
  outboxRelay: {
    event: { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} },
    // A tick polls the outbox for 130 s by design (RELAY_RUN); one pass is its cold start's share.
    what: 'the schedule tick, one pass (RELAY_MAX_RUN_MS=1)',
    env: { RELAY_MAX_RUN_MS: '1' },
  },
  cacheInvalidation: { event: mskEvent, what: 'an MSK batch without records' },
  cacheWarming: { event: mskEvent, what: 'an MSK batch without records' },
  audit: { event: mskEvent, what: 'an MSK batch without records' },
};

const answerOf = (r: InvokeResult): string => {
  if (!r.ok) return `${r.kind} error: ${r.errorType}`;
  const status = (r.payload as Partial<APIGatewayProxyResult> | null)?.statusCode;
  return typeof status === 'number' ? `HTTP ${status}` : 'ok';
};

interface ColdStart {
  bundle_bytes: number;
  memory_mb: number;
  reserved_concurrency: number | null;
  first_event: string;
  answer: string;
  to_init_done_ms: { min: number; median: number; runs: number[] };
  to_first_response_ms: { min: number; median: number; runs: number[] };
}
const coldStarts: Record<string, ColdStart> = {};
for (const f of fns) {
  const id = f.logicalId.replace(/Function[0-9A-F]{8}$/, '');
  const deploy = deployEvents.get(f.logicalId);
  const first = deploy ? { event: deploy, what: 'CloudFormation Create (idempotent)' } : firstEvents[id];
  if (!first) throw new Error(`no first event for ${f.logicalId}: add one to bench/cloud.ts`);
  const taskRoot = await stageTask(f.assetDir, f.name);
  const initDone: number[] = [];
  const firstResponse: number[] = [];
  const answers = new Set<string>();
  for (let i = 0; i < COLD_STARTS; i++) {
    // A fresh function each time: its one container is spawned by this invoke.
    const fn = startFunction({
      name: f.name,
      taskRoot,
      handler: f.handler,
      environment: { ...f.environment, ...runtimeEnv, ...TUNING, ...('env' in first ? first.env : {}) },
      timeoutMs: f.timeoutMs,
      memoryMb: f.memoryMb,
      maxConcurrency: 1,
      runtime,
    });
    answers.add(answerOf(await fn.invoke(first.event)));
    const { coldStartMs } = fn.stats();
    initDone.push(...coldStartMs.toFirstNext);
    firstResponse.push(...coldStartMs.toFirstResponse);
    await fn.stop();
  }
  const spread = (runs: number[]) => ({ min: Math.min(...runs), median: median(runs), runs });
  coldStarts[id] = {
    bundle_bytes: statSync(join(f.assetDir, `${f.handler.split('.')[0]}.mjs`)).size,
    memory_mb: f.memoryMb,
    reserved_concurrency: f.reservedConcurrency ?? null,
    first_event: first.what,
    answer: [...answers].join(' / '),
    to_init_done_ms: spread(initDone),
    to_first_response_ms: spread(firstResponse),
  };
  console.log(`cold start ${id}: ${firstResponse.join(', ')} ms (${coldStarts[id].answer})`);
}
await localAws.stop();
rmSync(scratch, { recursive: true, force: true });

const results = {
  measured_at: new Date().toISOString(),
  machine: { cpus: cpus().length, node: process.version, lambda_node: 'nodejs22.x (scripts/cloud/runtime)' },
  resolve_under_load: {
    what: `GET resolve, cache hits over ${ROUTES} pre-created routes, rate limits and auth off`,
    connections: CONNECTIONS,
    warmup_s: WARMUP,
    duration_s: DURATION,
    order: `${targets.map((t) => t.name).join(' → ')} (× ${ROUNDS} rounds)`,
    sources_runner: 'npm run dev: scripts/local/start.ts, every handler in one Node process',
    local_cloud: 'npm start: scripts/cloud/start.ts, resolveRoute bundle in Node 22 RIC containers',
    resolve_reserved_concurrency: resolveReserved,
    resolve_local_concurrency: resolveLocal,
    notes: [
      `The local cloud serves resolve from at most ${resolveReserved} containers (its reserved concurrency in the local stage), each one request at a time: Lambda's model. Its throughput is bounded by containers × 1 / latency, not by an event loop's concurrency as in the sources runner.`,
      `With ${CONNECTIONS} connections the requests beyond the containers are refused at once, as Lambda throttles a synchronous invoke past reserved concurrency (TooManyRequestsException, which API Gateway answers with a 500): req_per_s counts those fast refusals, ok_per_s only 2xx answers. cloud_at_capacity runs with as many connections as containers (resolve_local_concurrency).`,
      'The functions log at the template level (INFO) plus START/END/REPORT and an EMF line per invoke, appended to .local/cloud/logs/functions.log by the cloud process; the sources runner runs at LOG_LEVEL=ERROR.',
      'Both APIs stay up through all rounds; the idle one still runs its background work (the cloud its relay schedule and MSK pollers).',
      'Shared 2-core machine: compare rounds side by side, and the load generator CPU per request for the phase a round caught.',
    ],
    rounds,
    median: {
      sources: summaryOf(rounds.sources),
      cloud: summaryOf(rounds.cloud),
      cloud_at_capacity: summaryOf(rounds.cloud_at_capacity),
    },
  },
  cold_start: {
    what: `Per function of the synthesized local stage, ${COLD_STARTS} fresh containers each (lambda-container stats().coldStartMs): spawn → the runtime's first /next (init done) and → the first answer to one event`,
    functions: coldStarts,
  },
};
writeFileSync(resolve(root, 'bench/results/cloud.json'), `${JSON.stringify(results, null, 2)}\n`);

const row = ({ load_generator_cpu_us_per_request: gen_cpu_us, ...rest }: ReturnType<typeof summaryOf>) => ({
  ...rest,
  gen_cpu_us,
});
const table: Record<string, ReturnType<typeof row>> = {};
for (let r = 0; r < ROUNDS; r++) {
  for (const t of targets) table[`${t.name} #${r + 1}`] = row(summaryOf([rounds[t.name][r]!]));
}
for (const t of targets) table[`${t.name} median`] = row(results.resolve_under_load.median[t.name]);
console.table(table);
console.table(
  Object.fromEntries(
    Object.entries(coldStarts).map(([id, c]) => [
      id,
      {
        kb: round1(c.bundle_bytes / 1024),
        init_min_ms: c.to_init_done_ms.min,
        init_med_ms: c.to_init_done_ms.median,
        first_min_ms: c.to_first_response_ms.min,
        first_med_ms: c.to_first_response_ms.median,
        answer: c.answer,
      },
    ]),
  ),
);
console.log('written to bench/results/cloud.json');
process.exit(0);
