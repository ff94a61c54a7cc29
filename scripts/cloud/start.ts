// `npm start`: the synthesized app, run locally function by function as Lambda would (docs/local-cloud.md).
// It synthesizes the stage (cached by input hash), finds or starts the stores, maps the template's resources
// to them, "deploys" the custom resources by invoking their functions, and serves the REST API from the
// template. This is tooling playing AWS's part: reading process.env here is fine.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { hostPortOf, isListening } from '../local/discover.ts';
import { chooseAuthMode } from '../local/local-auth.ts';
import { guardMetrics } from '../local/metrics-endpoint.ts';
import { type Assembly, synthesize } from './assembly.ts';
import { deployStores } from './deploy-stores.ts';
import { EmfMetrics } from './emf-metrics.ts';
import { startKafkaMappings, startSchedules } from './event-sources.ts';
import { resolveValue } from './intrinsics.ts';
import { type InvokeResult, type LambdaFunction, startFunction } from './lambda-container.ts';
import { ensureLambdaRuntime, stageTask } from './lambda-runtime.ts';
import { endpointEnvironment, startLocalAws } from './local-aws.ts';
import { clusterArnOf, type LocalEndpoints, localResourceMap, localSecrets } from './local-resources.ts';
import { openRotatedLog } from './log-file.ts';
import { readRestApi, startRestApi } from './rest-api.ts';
import { contextFor, type TemplateFunction, templateFunctions } from './template-functions.ts';
import { type DeployAction, deployActions, kafkaMappings, schedules } from './triggers.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const say = (msg: string) => console.log(`[local-cloud] ${msg}`);

const env = z
  .object({
    API_HOST: z.string().default('127.0.0.1'),
    API_PORT: z.coerce.number().int().min(0).max(65535).default(8000),
    CLOUD_STAGE: z.string().default('local'),
    AUTH_MODE: z.enum(['on', 'off']).optional(),
    /** With auth on, /metrics answers only this bearer token (unset: not served); docs/security.md. */
    METRICS_TOKEN: z.string().min(32).optional(),
    /** Where the stand-ins listen (the resource map's targets); defaults are this machine's services. */
    DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/postgres'),
    REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
    /** Local tuning given to every function on top of the template (never a binding): JSON object. */
    LOCAL_CLOUD_FUNCTION_ENV: z.string().default('{}'),
    /** Local rate for scheduled rules whose rate is slower (stated at start). */
    LOCAL_SCHEDULE_MAX_MS: z.coerce.number().int().min(100).default(10_000),
    /** The local PostgreSQL's connection budget for all function containers together. */
    LOCAL_DB_CONNECTION_BUDGET: z.coerce.number().int().min(1).default(60),
  })
  .parse(process.env);

const BINDING_PREFIXES = [
  'DATABASE_',
  'REDIS_',
  'CACHE_BACKEND',
  'KAFKA_',
  'MSK_',
  'MONGO_',
  'IDEMPOTENCY_',
  'FAILURE_',
  'TOKEN_HASH_KEY',
];
const tuning = z.record(z.string(), z.string()).parse(JSON.parse(env.LOCAL_CLOUD_FUNCTION_ENV));
const forbidden = Object.keys(tuning).filter((k) => BINDING_PREFIXES.some((p) => k.startsWith(p)));
if (forbidden.length > 0) {
  throw new Error(
    `LOCAL_CLOUD_FUNCTION_ENV may tune, never bind: ${forbidden.join(', ')} come from the template`,
  );
}

const authMode = chooseAuthMode(env.API_HOST, env.AUTH_MODE);
const cloudDir = join(root, '.local', 'cloud');
mkdirSync(join(cloudDir, 'logs'), { recursive: true });
// One buffered stream for every container's lines: a synchronous append per line would stall the API's loop.
const functionLog = openRotatedLog(join(cloudDir, 'logs', 'functions.log'));

/** A per-checkout seed: local secret values are derived from it, the same on every start. */
const secretSeed = (): string => {
  const file = join(cloudDir, 'secret-seed');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
};

// ---- the stand-ins: Postgres and Redis of this machine, Kafka/Mongo/DynamoDB from scripts/services -----
const pgAt = hostPortOf(env.DATABASE_URL, 5432);
if (!(await isListening(pgAt.host, pgAt.port))) {
  throw new Error(`no PostgreSQL at ${pgAt.host}:${pgAt.port} (DATABASE_URL): the local cloud needs one`);
}
const redisAt = hostPortOf(env.REDIS_URL, 6379);
if (!(await isListening(redisAt.host, redisAt.port))) {
  say(`WARNING: no Redis at ${redisAt.host}:${redisAt.port}: functions will run with their cache failing`);
}
const { ensureServicesWithStatus, servicesLeftRunning } = await import('../services/services.ts');
const { urls: services, services: serviceStatuses } = await ensureServicesWithStatus().catch(
  (err: unknown) => {
    // No stack trace: the message names what is missing and the choices (scripts/services/prerequisites.ts).
    console.error(`[local-cloud] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
const mongoAt = hostPortOf(services.mongoUrl, 27017);

const assembly: Assembly = await synthesize(root, env.CLOUD_STAGE, say);
const seed = secretSeed();
const secrets = localSecrets(assembly.stacks, seed);
const clusters: Record<string, { bootstrapBrokers: string }> = {};
for (const stack of assembly.stacks) {
  for (const [id, r] of Object.entries(stack.template.Resources)) {
    if (r.Type === 'AWS::MSK::Cluster')
      clusters[clusterArnOf(stack, id)] = { bootstrapBrokers: services.kafkaBrokers };
  }
}
const localAws = await startLocalAws({
  secrets,
  kafkaClusters: clusters,
  deadLetterFile: join(cloudDir, 'dead-letters.jsonl'),
  log: say,
});
const endpoints: LocalEndpoints = {
  postgres: pgAt,
  redis: redisAt,
  kafkaBrokers: services.kafkaBrokers,
  mongo: mongoAt,
  localAws: localAws.endpoint,
};
const resources = localResourceMap(endpoints);
const secretValue = (id: string, key: string | undefined): string => {
  const raw = secrets[id];
  if (raw === undefined) throw new Error(`no local secret ${id}`);
  return key ? String((JSON.parse(raw) as Record<string, unknown>)[key]) : raw;
};

// ---- "deploy" the stateful resources the map stands in for: the database and its master user, tables ----
await deployStores({
  assembly,
  resources,
  secretValue,
  adminDatabaseUrl: env.DATABASE_URL,
  dynamoEndpoint: services.dynamoEndpoint,
  say,
});

// ---- the functions ----------------------------------------------------------------------------------
const fns = templateFunctions(assembly, resources, secretValue);
const runtime = await ensureLambdaRuntime();
const poolMaxOf = (f: TemplateFunction) =>
  'DATABASE_HOST' in f.environment || 'DATABASE_URL' in f.environment
    ? Number(f.environment.DATABASE_POOL_MAX ?? 10)
    : 0;
const concurrencyOf = (f: TemplateFunction) => f.reservedConcurrency ?? 8;
const wanted = fns.reduce((sum, f) => sum + poolMaxOf(f) * concurrencyOf(f), 0);
// RDS Proxy multiplexes many containers' pools onto few connections; the local server has no proxy.
const scale = wanted > env.LOCAL_DB_CONNECTION_BUDGET ? env.LOCAL_DB_CONNECTION_BUDGET / wanted : 1;
if (scale < 1) {
  say(
    `database pools: the template's pools × reserved concurrency want ${wanted} connections; ` +
      `local concurrency is scaled by ${scale.toFixed(2)} to stay within ${env.LOCAL_DB_CONNECTION_BUDGET}`,
  );
}

const runtimeEnv = {
  ...endpointEnvironment(localAws.endpoint),
  AWS_ENDPOINT_URL_DYNAMODB: services.dynamoEndpoint,
  AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
  AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000',
};
const metrics = new EmfMetrics();
const byId = new Map<string, LambdaFunction>();
const functionNames = new Map<string, string>();
for (const f of fns) {
  if (f.runtime !== 'nodejs22.x') throw new Error(`${f.logicalId}: no local runtime for ${f.runtime}`);
  const taskRoot = await stageTask(f.assetDir, f.name);
  const maxConcurrency =
    poolMaxOf(f) > 0 ? Math.max(1, Math.floor(concurrencyOf(f) * scale)) : f.reservedConcurrency;
  byId.set(
    f.logicalId,
    startFunction({
      name: f.name,
      taskRoot,
      handler: f.handler,
      environment: { ...f.environment, ...runtimeEnv, ...tuning },
      timeoutMs: f.timeoutMs,
      memoryMb: f.memoryMb,
      maxConcurrency,
      runtime,
      onLog: (line) => {
        functionLog.write(`${line}\n`);
        metrics.observe(line);
      },
    }),
  );
  functionNames.set(f.logicalId, f.name);
}
say(
  `${fns.length} functions from their bundles on Node 22 (${runtime.nodeBinary}); logs: .local/cloud/logs/functions.log`,
);

const invoke = async (id: string, event: unknown, whenThrottled: 'reject' | 'queue' = 'reject') => {
  const fn = byId.get(id);
  if (!fn) throw new Error(`no function ${id} in the assembly`);
  const result: InvokeResult = await fn.invoke(event, { whenThrottled });
  // While stopping, the containers are killed on purpose: the relay's run (always one going) is no crash.
  if (!result.ok && result.kind !== 'function' && !stopping) {
    // At most one line a second per function and kind: a throttled burst must not flood the console.
    const key = `${id}:${result.kind}`;
    const now = Date.now();
    if (now - (lastReported.get(key) ?? 0) >= 1000) {
      lastReported.set(key, now);
      say(`${functionNames.get(id)}: ${result.kind} ${result.errorType}: ${result.errorMessage}`);
    }
  }
  return result;
};
const lastReported = new Map<string, number>();
let stopping = false;

// ---- deploy actions: the custom resources' functions, invoked as the Provider framework would ----------
const deploy = async (stack: Assembly['stacks'][number], action: DeployAction): Promise<void> => {
  const ctx = contextFor(assembly, stack, resources, secretValue);
  const properties = Object.fromEntries(
    Object.entries(action.properties).map(([k, v]) => [k, typeof v === 'object' ? resolveValue(v, ctx) : v]),
  );
  const result = await invoke(action.functionId, {
    RequestType: 'Create',
    ServiceToken: 'local',
    ResponseURL: 'http://127.0.0.1/unused',
    StackId: `arn:aws:cloudformation:us-east-1:000000000000:stack/${stack.stackName}/local`,
    RequestId: randomBytes(8).toString('hex'),
    LogicalResourceId: action.logicalId,
    ResourceType: action.resourceType,
    ResourceProperties: { ServiceToken: 'local', ...properties },
  });
  if (!result.ok) {
    throw new Error(
      `deploy action ${action.logicalId} (${action.resourceType}) failed: ${result.errorMessage}`,
    );
  }
  say(`deployed ${action.resourceType} ${action.logicalId}: ${JSON.stringify(result.payload)}`);
};
for (const stack of assembly.stacks) for (const action of deployActions(stack)) await deploy(stack, action);
/** A topic the broker lost is made again as the deploy made it: its custom resource, invoked again. */
const repairTopic = async (): Promise<void> => {
  for (const stack of assembly.stacks) {
    for (const action of deployActions(stack)) {
      if (action.resourceType === 'Custom::KafkaTopic') await deploy(stack, action);
    }
  }
};

// ---- event sources and schedules --------------------------------------------------------------------
const { SQSClient, SendMessageCommand } = await import('@aws-sdk/client-sqs');
const sqs = new SQSClient({
  endpoint: localAws.endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
const triggers = {
  brokers: services.kafkaBrokers,
  functionName: (id: string) => functionNames.get(id) ?? id,
  invoke,
  sendToQueue: async (queueArn: string, body: string) => {
    await sqs.send(
      new SendMessageCommand({ QueueUrl: localAws.queueUrl(queueArn.split(':').at(-1)!), MessageBody: body }),
    );
  },
  say,
  repairTopic,
};
const stops: (() => Promise<void>)[] = [];
for (const stack of assembly.stacks) {
  const ctx = contextFor(assembly, stack, resources, secretValue);
  stops.push(await startKafkaMappings(kafkaMappings(stack, ctx), triggers));
  const stopSchedules = startSchedules(schedules(stack), env.LOCAL_SCHEDULE_MAX_MS, triggers);
  stops.push(async () => stopSchedules());
}

// ---- the REST API ------------------------------------------------------------------------------------
const apiStack = assembly.stacks.find((s) =>
  Object.values(s.template.Resources).some((r) => r.Type === 'AWS::ApiGateway::RestApi'),
);
if (!apiStack) throw new Error('no stack declares the REST API');
const api = await startRestApi(readRestApi(apiStack), {
  host: env.API_HOST,
  port: env.API_PORT,
  invoke,
  auth: authMode,
  // Not a route of the stack: the functions' EMF metrics, as Prometheus text (CloudWatch's part locally).
  extraRoutes: {
    '/metrics': guardMetrics({ auth: authMode, token: env.METRICS_TOKEN }, (res) => {
      const text = metrics.render();
      res.writeHead(200, {
        'content-type': 'text/plain; version=0.0.4',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    }),
  },
  onError: (err) => say(`api error: ${String(err)}`),
});

if (authMode === 'off') {
  say('AUTH IS OFF: every call acts as an all-tenant admin (loopback only; AUTH_MODE=on to run as in AWS)');
} else {
  const bootstrap = Object.values(apiStack.template.Outputs ?? {}).find((o) =>
    JSON.stringify(o.Value).includes('bootstrapAdminToken'),
  );
  const id = bootstrap && (bootstrap.Value as { Ref?: string }).Ref;
  // The operator function, as `aws lambda invoke` would run it. Forced, so that every local start prints a
  // usable token (each lives a day, principal bootstrap-admin, which the bootstrap may reuse; audited as bootstrap:force).
  const result = id ? await invoke(id, { force: true }) : undefined;
  const payload = result?.ok ? (result.payload as { created?: boolean; token?: string }) : undefined;
  if (payload?.created) say(`admin token (shown once): ${payload.token}`);
  else throw new Error(`the bootstrap admin token function failed: ${JSON.stringify(result)}`);
}
say(`API listening on ${api.url} (try: curl ${api.url}/health/ready)`);

const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  say(`${signal}: stopping`);
  await api.close();
  for (const stop of stops) await stop().catch(() => {});
  await Promise.allSettled([...byId.values()].map((f) => f.stop()));
  sqs.destroy();
  await localAws.stop();
  await new Promise<void>((resolve) => functionLog.end(resolve));
  for (const line of servicesLeftRunning(serviceStatuses)) say(line);
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
