import { ensureDatabase, migrateUp } from '#shared/adapters/postgres/migrate';

/** Runs once before all test files: the test database exists and is migrated. */
export default async function setup(): Promise<void> {
  const url = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/traffic_manager_test';
  await ensureDatabase(url);
  await migrateUp(url);
}
