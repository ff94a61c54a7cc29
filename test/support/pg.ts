import { createPgPool, type PgPool } from '#shared/adapters/postgres/pg-pool';
import { getConfig } from '#shared/config/config';

/** A pool on the test database (vitest.config.ts sets DATABASE_URL; global setup migrated it). */
export const testPool = (overrides: Partial<ReturnType<typeof getConfig>['database']> = {}): PgPool =>
  createPgPool({ ...getConfig().database, ...overrides }, () => {});
