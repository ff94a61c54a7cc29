import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { Config } from '#shared/config/config';

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
  const pool = new pg.Pool({
    connectionString: db.url,
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
