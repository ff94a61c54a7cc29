import { createPgPool, type PgPool } from '#shared/adapters/postgres/pg-pool';
import { getConfig } from '#shared/config/config';

/** A pool on the test database (vitest.config.ts sets DATABASE_URL; global setup migrated it). */
export const testPool = (overrides: Partial<ReturnType<typeof getConfig>['database']> = {}): PgPool =>
  createPgPool({ ...getConfig().database, ...overrides }, { onError: () => {} });

/** Waits until `n` backends are blocked on a lock while running a statement that contains `queryLike`. */
export const waitForLockWaiters = async (
  pool: PgPool,
  queryLike: string,
  n: number,
  timeoutMs = 20_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE wait_event_type = 'Lock' AND datname = current_database() AND query LIKE '%' || $1 || '%'`,
      [queryLike],
    );
    if (rows[0].n >= n) return;
    if (Date.now() > deadline)
      throw new Error(`only ${rows[0].n} of ${n} statements were waiting on the lock`);
    await new Promise((r) => setTimeout(r, 25));
  }
};
