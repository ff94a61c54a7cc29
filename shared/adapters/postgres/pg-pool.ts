import { readFileSync } from 'node:fs';
import pg from 'pg';
import { readSecretField } from '#shared/adapters/aws/secrets';
import { ENV } from '#shared/config/bindings';
import { type Config, requireSetting } from '#shared/config/config';

// Route revisions are bigint in Postgres; they stay far below 2^53, so parse them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export type PgPool = pg.Pool;

const sslOptions = (db: Config['database']): pg.PoolConfig['ssl'] => {
  if (db.ssl === 'disable') return undefined;
  const ca = db.sslCaFile ? readFileSync(db.sslCaFile, 'utf8') : undefined;
  return { rejectUnauthorized: db.ssl === 'verify-full', ...(ca ? { ca } : {}) };
};

/** A pool with short timeouts: a missing database must give a fast 503, never a hang. */
export const createPgPool = (db: Config['database'], onError: (err: Error) => void): PgPool => {
  // In AWS the pool connects to RDS Proxy with the password read from Secrets Manager per new connection
  // (cached), so rotation needs no redeploy; locally DATABASE_URL carries everything.
  const target: pg.PoolConfig =
    db.secretArn && db.host
      ? {
          host: db.host,
          port: db.port,
          database: db.name,
          user: db.user,
          password: () => readSecretField(db.secretArn!, 'password'),
        }
      : { connectionString: requireSetting(db.url, `${ENV.database.url} (or ${ENV.database.host})`) };
  const pool = new pg.Pool({
    ...target,
    ssl: sslOptions(db),
    max: db.poolMax,
    connectionTimeoutMillis: db.connectTimeoutMs,
    query_timeout: db.queryTimeoutMs,
    statement_timeout: db.queryTimeoutMs,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: 'traffic-manager',
  });
  // An idle client losing its server must not crash the process; the pool replaces it.
  pool.on('error', onError);
  return pool;
};
