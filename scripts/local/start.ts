// `npm start`: the whole system on this machine. Finds or starts what it needs, applies migrations,
// then serves the real Lambda handlers over HTTP (routes from functions/route-table.ts).
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { hostPortOf, isListening } from './discover.ts';

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
  })
  .parse(process.env);

const say = (msg: string) => console.log(`[traffic-manager] ${msg}`);
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
});

// Imported only now: these modules read the configuration set above.
const { ensureDatabase, migrateUp } = await import('#shared/adapters/postgres/migrate');
const { closeClients } = await import('#shared/composition/clients');
const { prometheusRegistry } = await import('#shared/observability/metrics');
const { startLocalServer } = await import('./http-server.ts');

await ensureDatabase(db.url);
const applied = await migrateUp(db.url);
say(`database: ${db.how}; migrations ${applied.length ? `applied: ${applied.join(', ')}` : 'up to date'}`);
say(`cache: ${redis.how}`);

const api = await startLocalServer(root, {
  host: runnerEnv.API_HOST,
  port: runnerEnv.API_PORT,
  extraRoutes: {
    '/metrics': async (res) => {
      const text = await prometheusRegistry.metrics();
      res.writeHead(200, { 'content-type': prometheusRegistry.contentType });
      res.end(text);
    },
  },
  onError: (err) => console.error('[traffic-manager] runner error', err),
});
say(`API listening on ${api.url} (try: curl ${api.url}/health/ready)`);

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  say(`${signal}: draining (readiness now 503, ${api.inFlight()} in flight)`);
  const { drained, abandoned } = await api.drain(runnerEnv.SHUTDOWN_DEADLINE_MS);
  await closeClients();
  for (const stop of stops.reverse()) await stop().catch(() => {});
  say(
    drained
      ? 'drained; pools closed; bye'
      : `deadline reached with ${abandoned} requests in flight; pools closed`,
  );
  process.exit(drained ? 0 : 1);
};
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
