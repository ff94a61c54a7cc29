import { randomUUID } from 'node:crypto';
import { dropDatabase, ensureDatabase, migrateUp } from '#shared/adapters/postgres/migrate';
import { TEST_DATABASE_URL } from '../../../vitest.config.ts';

export interface PrivateDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * A migrated database of its own, for tests that claim "every unpublished outbox row": on the shared
 * test database they would take (and mark) rows that other test files are waiting for.
 */
export const createPrivateDatabase = async (prefix: string): Promise<PrivateDatabase> => {
  const base = new URL(process.env.DATABASE_URL ?? TEST_DATABASE_URL);
  const name = `tm_test_${prefix}_${randomUUID().slice(0, 8)}`.replaceAll('-', '_');
  const url = new URL(base);
  url.pathname = `/${name}`;
  await ensureDatabase(url.toString());
  await migrateUp(url.toString());
  return {
    url: url.toString(),
    drop: () => dropDatabase(url.toString()),
  };
};
