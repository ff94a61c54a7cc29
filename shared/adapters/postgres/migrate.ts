import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import pg from 'pg';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations', import.meta.url));

/** The database name a URL names, and a connected client on the server's `postgres` database. */
const adminConnection = async (databaseUrl: string): Promise<{ name: string; client: pg.Client } | null> => {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!name) return null;
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 3000 });
  await client.connect();
  return { name, client };
};

/** Creates the database named in `databaseUrl` when the server lacks it (local and test runs only). */
export const ensureDatabase = async (databaseUrl: string): Promise<void> => {
  const admin = await adminConnection(databaseUrl);
  if (!admin) return;
  const { name, client } = admin;
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client
        .query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`)
        .catch((err: { code?: string }) => {
          if (err.code !== '42P04') throw err; // created concurrently by another process
        });
    }
  } finally {
    await client.end();
  }
};

/** Drops the database the URL names, ending its sessions (tests and benches clean up with it). */
export const dropDatabase = async (databaseUrl: string): Promise<void> => {
  const admin = await adminConnection(databaseUrl);
  if (!admin) return;
  try {
    await admin.client.query(`DROP DATABASE IF EXISTS "${admin.name.replaceAll('"', '""')}" WITH (FORCE)`);
  } finally {
    await admin.client.end();
  }
};

/** Applies every pending migration; concurrent callers wait on node-pg-migrate's advisory lock. */
export const migrateUp = async (
  databaseUrl: string,
  options: { dir?: string; log?: (msg: string) => void } = {},
): Promise<string[]> => {
  const applied = await runner({
    databaseUrl,
    dir: options.dir ?? MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Number.POSITIVE_INFINITY,
    advisoryLockMode: 'wait',
    log: options.log ?? (() => {}),
  } as Parameters<typeof runner>[0]);
  return applied.map((m) => m.name);
};
