import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import pg from 'pg';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations', import.meta.url));

/** Creates the database named in `databaseUrl` when the server lacks it (local and test runs only). */
export const ensureDatabase = async (databaseUrl: string): Promise<void> => {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!name) return;
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 3000 });
  await client.connect();
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
