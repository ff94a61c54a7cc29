// `npm start`: the whole system on this machine. Finds or starts what it needs, applies migrations,
// then serves the real Lambda handlers over HTTP (routes from functions/route-table.ts).
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { hostPortOf, isListening } from './discover.ts';
import { authOffNotice, bootstrapLocalAdmin, chooseAuthMode, localTokenHashKey } from './local-auth.ts';
import { guardMetrics } from './metrics-endpoint.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

// The runner plays the part of the Lambda environment: it reads its own settings here and hands the
// functions their configuration as environment variables, exactly as the CDK stack does in AWS.
const runnerEnv = z
  .object({
    API_HOST: z.string().default('127.0.0.1'),
    API_PORT: z.coerce.number().int().min(0).max(65535).default(8000),
    DATABASE_URL: z.string().optional(),
    REDIS_URL: z.string().optional(),
    CACHE_BACKEND: z.enum(['redis', 'upstash', 'none']).optional(),
    EMBEDDED_PG_PORT: z.coerce.number().int().default(5433),
    SHUTDOWN_DEADLINE_MS: z.coerce.number().int().min(0).default(10_000),
    // off: no relay loop and no consumers in this process (benchmarks of the API alone; in AWS they are
    // separate functions). The write path still publishes after commit (EVENT_PUBLISHER=writer, the default here).
    LOCAL_EVENT_WORKERS: z.enum(['on', 'off']).default('on'),
    // Concurrent requests per operation type (queues hold a few times more): the local bulkheads.
    BULKHEAD_READ: z.coerce.number().int().min(1).default(256),
    BULKHEAD_WRITE: z.coerce.number().int().min(1).default(32),
    BULKHEAD_AUDIT: z.coerce.number().int().min(1).default(16),
    BULKHEAD_ADMIN: z.coerce.number().int().min(1).default(8),
    // API tokens (docs/security.md): off by default on loopback only; never off elsewhere.
    AUTH_MODE: z.enum(['on', 'off']).optional(),
    BOOTSTRAP_ADMIN_TOKEN: z.string().optional(),
    TOKEN_HASH_KEY: z.string().optional(),
    // With auth on, /metrics answers only this bearer token (unset: not served); docs/security.md.
    METRICS_TOKEN: z.string().min(32).optional(),
  })
  .parse(process.env);

const say = (msg: string) => console.log(`[traffic-manager] ${msg}`);

let authMode: 'on' | 'off';
try {
  authMode = chooseAuthMode(runnerEnv.API_HOST, runnerEnv.AUTH_MODE);
} catch (err) {
  console.error(`[traffic-manager] ${(err as Error).message}`);
  process.exit(1);
}
const stops: (() => Promise<void>)[] = [];

const database = async (): Promise<{ url: string; how: string }> => {
  if (runnerEnv.DATABASE_URL) return { url: runnerEnv.DATABASE_URL, how: 'DATABASE_URL' };
  if (await isListening('127.0.0.1', 5432)) {
    return { url: 'postgres://postgres@127.0.0.1:5432/traffic_manager', how: 'local PostgreSQL on :5432' };
  }
  say(
    `no PostgreSQL on 127.0.0.1:5432; starting an embedded one on :${runnerEnv.EMBEDDED_PG_PORT} (.local/pgdata)`,
  );
  const { startEmbeddedPostgres } = await import('./embedded-postgres.ts');
  const pg = await startEmbeddedPostgres(`${root}.local/pgdata`, runnerEnv.EMBEDDED_PG_PORT);
  stops.push(pg.stop);
  return { url: pg.url, how: `embedded PostgreSQL on :${runnerEnv.EMBEDDED_PG_PORT}` };
};

const cache = async (): Promise<{ backend: 'redis' | 'upstash' | 'none'; url?: string; how: string }> => {
  if (runnerEnv.CACHE_BACKEND && runnerEnv.CACHE_BACKEND !== 'redis') {
    return { backend: runnerEnv.CACHE_BACKEND, how: `CACHE_BACKEND=${runnerEnv.CACHE_BACKEND}` };
  }
  const url = runnerEnv.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const { host, port } = hostPortOf(url, 6379);
  if (await isListening(host, port)) return { backend: 'redis', url, how: `Redis at ${host}:${port}` };
  if (runnerEnv.REDIS_URL) {
    say(`REDIS_URL=${url} does not answer yet; the cache tier will be used once it does`);
    return { backend: 'redis', url, how: `Redis at ${host}:${port} (not reachable yet)` };
  }
  return {
    backend: 'none',
    how: 'no Redis on 127.0.0.1:6379: running WITHOUT the cache tier (every resolve reads Postgres)',
  };
};

const [db, redis] = await Promise.all([database(), cache()]);

Object.assign(process.env, {
  STAGE: process.env.STAGE ?? 'local',
  DATABASE_URL: db.url,
  CACHE_BACKEND: redis.backend,
  ...(redis.url ? { REDIS_URL: redis.url } : {}),
  METRICS_BACKEND: process.env.METRICS_BACKEND ?? 'prometheus',
  REDIS_AUTO_PIPELINING: process.env.REDIS_AUTO_PIPELINING ?? 'true',
  EXPOSE_ERROR_DETAILS: process.env.EXPOSE_ERROR_DETAILS ?? 'true',
  TOKEN_HASH_KEY: localTokenHashKey(`${root}.local/token-hash-key`, runnerEnv.TOKEN_HASH_KEY),
});

// ---- events (issue 3): Kafka and the Mongo-wire audit store, found or started without Docker ----------
// KAFKA_BROKERS / MONGO_URL win; else whatever answers on the default ports; else detached JVMs that
// outlive the runner (`npm run services:down` stops them).
const { ensureServicesWithStatus, servicesLeftRunning } = await import('../services/services.ts');
const { urls: eventServices, services: serviceStatuses } = await ensureServicesWithStatus().catch(
  (err: unknown) => {
    // No stack trace: the message names what is missing and the choices (scripts/services/prerequisites.ts).
    console.error(`[traffic-manager] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
Object.assign(process.env, {
  KAFKA_BROKERS: eventServices.kafkaBrokers,
  MONGO_URL: eventServices.mongoUrl,
  DYNAMODB_ENDPOINT: eventServices.dynamoEndpoint, // DYNAMODB_ENDPOINT's value when it is set
});
// ---- end events --------------------------------------------------------------------------------------

// Imported only now: these modules read the configuration set above.
const { ensureDatabase, migrateUp } = await import('#shared/adapters/postgres/migrate');
const { getDynamoClient } = await import('#shared/composition/idempotency-clients');
const { closeAllClients } = await import('#shared/composition/shutdown');
const { addReadinessProbes } = await import('#shared/composition/readiness-clients');
const { eventReadinessProbes } = await import('#shared/composition/event-probes');
addReadinessProbes(...eventReadinessProbes());
const { getConfig, requireSetting } = await import('#shared/config/config');
const { ensureIdempotencyTable } = await import('#shared/adapters/idempotency/idempotency-table');
const { prometheusRegistry } = await import('#shared/observability/metrics.prometheus');
const { startLocalServer } = await import('./http-server.ts');

await ensureDatabase(db.url);
const applied = await migrateUp(db.url);
say(`database: ${db.how}; migrations ${applied.length ? `applied: ${applied.join(', ')}` : 'up to date'}`);
say(`cache: ${redis.how}`);
await ensureIdempotencyTable(
  getDynamoClient(),
  requireSetting(getConfig().idempotency.table, 'IDEMPOTENCY_TABLE'),
);
say(`idempotency keys: DynamoDB at ${process.env.DYNAMODB_ENDPOINT}, table ${getConfig().idempotency.table}`);

const api = await startLocalServer(root, {
  host: runnerEnv.API_HOST,
  port: runnerEnv.API_PORT,
  extraRoutes: {
    '/metrics': guardMetrics({ auth: authMode, token: runnerEnv.METRICS_TOKEN }, async (res) => {
      const text = await prometheusRegistry.metrics();
      res.writeHead(200, { 'content-type': prometheusRegistry.contentType });
      res.end(text);
    }),
  },
  onError: (err) => console.error('[traffic-manager] runner error', err),
  auth: authMode,
  bulkheads: {
    read: { limit: runnerEnv.BULKHEAD_READ, queue: runnerEnv.BULKHEAD_READ * 2 },
    write: { limit: runnerEnv.BULKHEAD_WRITE, queue: runnerEnv.BULKHEAD_WRITE * 4 },
    audit: { limit: runnerEnv.BULKHEAD_AUDIT, queue: runnerEnv.BULKHEAD_AUDIT * 4 },
    admin: { limit: runnerEnv.BULKHEAD_ADMIN, queue: runnerEnv.BULKHEAD_ADMIN * 4 },
  },
});
const authLines =
  authMode === 'off'
    ? authOffNotice(api.url)
    : await bootstrapLocalAdmin(api.url, runnerEnv.BOOTSTRAP_ADMIN_TOKEN);
for (const line of authLines) say(line);
say(`API listening on ${api.url} (try: curl ${api.url}/health/ready)`);

// ---- events (issue 3): topic, outbox relay loop, and the consumers behind the MSK-like poller ---------
const startEvents = async (): Promise<() => Promise<void>> => {
  const { getKafka } = await import('#shared/composition/publish-clients');
  const { ensureTopic } = await import('#shared/adapters/kafka/topic-admin.kafka');
  const { consumerFunctions } = await import('#functions/route-table');
  const { startOutboxRelayLoop } = await import('./outbox-relay-loop.ts');
  const { startEventSourcePoller } = await import('./event-source-poller.ts');
  const { kafka } = getConfig();
  const client = await getKafka();
  await ensureTopic(client, {
    topic: kafka.topic,
    partitions: kafka.topicPartitions,
    replicationFactor: kafka.topicReplicationFactor,
  });
  if (runnerEnv.LOCAL_EVENT_WORKERS === 'off') {
    say('events: relay and consumers NOT running here (LOCAL_EVENT_WORKERS=off)');
    return async () => {};
  }
  const relay = startOutboxRelayLoop();
  const functions = await Promise.all(
    Object.entries(consumerFunctions).map(async ([name, spec]) => {
      const { pathToFileURL } = await import('node:url');
      const mod = (await import(pathToFileURL(`${root}/${spec.entry}`).href)) as Record<string, unknown>;
      const handler = mod[spec.handler] as import('./event-source-poller.ts').MskLambdaHandler;
      // CONSUMER_GROUP_SUFFIX: several runners on one broker (tests) each get their own groups.
      return {
        name,
        consumerGroup: `${spec.consumerGroup}${process.env.CONSUMER_GROUP_SUFFIX ?? ''}`,
        handler,
      };
    }),
  );
  const { logThrottle } = await import('#shared/adapters/kafka/log-throttle');
  const retries = logThrottle();
  const poller = await startEventSourcePoller({
    kafka: client,
    topic: kafka.topic,
    bootstrapServers: eventServices.kafkaBrokers,
    functions,
    onRetry: (fn, partition, attempt, err) => {
      const { log, repeated } = retries(`${fn}:${String(err)}`);
      if (!log) return;
      const more = repeated > 0 ? ` (${repeated} more like it since the last line)` : '';
      say(
        `${fn}: batch on partition ${partition} failed (attempt ${attempt}), retrying: ${String(err)}${more}`,
      );
    },
    repairTopic: async () => {
      await ensureTopic(client, {
        topic: kafka.topic,
        partitions: kafka.topicPartitions,
        replicationFactor: kafka.topicReplicationFactor,
      });
    },
    log: say,
  });
  await poller.ready;
  say(
    `events: Kafka ${eventServices.kafkaBrokers} topic ${kafka.topic}; audit store ${eventServices.mongoUrl}; ` +
      `outbox relay and consumers (${functions.map((f) => f.name).join(', ')}) running`,
  );
  return async () => {
    await poller.stop();
    await relay.stop();
  };
};
// Started in the background: the API serves at once, and a Kafka problem degrades events, not the API.
const eventsStarted = startEvents().catch((err: unknown) => {
  say(`events NOT running: ${err instanceof Error ? err.message : String(err)}`);
  return async () => {};
});
const stopEvents = async (): Promise<void> => (await eventsStarted)();
// ---- end events --------------------------------------------------------------------------------------

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  say(`${signal}: draining (readiness now 503, ${api.inFlight()} in flight)`);
  const { drained, abandoned } = await api.drain(runnerEnv.SHUTDOWN_DEADLINE_MS);
  await stopEvents(); // events (issue 3): consumers and relay stop before the pools close
  await closeAllClients();
  for (const stop of stops.reverse()) await stop().catch(() => {});
  for (const line of servicesLeftRunning(serviceStatuses)) say(line);
  say(
    drained
      ? 'drained; pools closed; bye'
      : `deadline reached with ${abandoned} requests in flight; pools closed`,
  );
  process.exit(drained ? 0 : 1);
};
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
