import type { PgPool } from '#shared/adapters/postgres/pg-pool';
import { PgSplitRepository } from '#shared/adapters/postgres/split-repository.pg';
import type { SplitRepository } from '#shared/ports/split-repository.port';
import { GuardedSplitRepository } from '#shared/resilience/guarded-split-repository';
import { guardFor, retryBudget } from '#shared/resilience/registry';
import { getPgPool } from './clients.ts';

let splits: { readonly pool: PgPool; readonly repository: SplitRepository } | undefined;

/**
 * The split repository on the container's Postgres pool, behind the database's breaker; built once per
 * pool (closeClients ends the pool, and the next pool gets a new repository).
 */
export const getSplitRepository = (): SplitRepository => {
  const pool = getPgPool();
  if (splits?.pool !== pool) {
    splits = {
      pool,
      repository: new GuardedSplitRepository(
        new PgSplitRepository(pool),
        guardFor('database'),
        retryBudget(),
      ),
    };
  }
  return splits.repository;
};
