import { createPgPool, type PgPool } from '#shared/adapters/postgres/pg-pool';
import { PgRouteBatchWriter } from '#shared/adapters/postgres/route-batch.pg';
import { PgRouteRepository } from '#shared/adapters/postgres/route-repository.pg';
import { getConfig } from '#shared/config/config';
import type { CacheEntry } from '#shared/domain/cache-entry';
import { logger } from '#shared/observability/logger';
import { appMetrics } from '#shared/observability/metrics';
import type { RouteBatchWriter } from '#shared/ports/route-batch.port';
import type { RouteRepository } from '#shared/ports/route-repository.port';
import { GuardedRouteRepository } from '#shared/resilience/guarded-adapters';
import { guardFor, retryBudget } from '#shared/resilience/registry';
import { SingleFlight } from '#shared/use-cases/single-flight';

/**
 * Pooled clients, built lazily once per container (or once per local-runner process) and shared by
 * every handler in it. Handlers call these from their module scope: their composition roots. One module
 * per kind of dependency (this one: Postgres; cache-clients.ts, idempotency-clients.ts, …), so a function
 * bundles only the drivers it uses (test/infra/function-manifest.test.ts holds each to its declaration).
 */
let pool: PgPool | undefined;
let repository: RouteRepository | undefined;
let singleFlight: SingleFlight<CacheEntry> | undefined;

export const getPgPool = (): PgPool => {
  pool ??= createPgPool(getConfig().database, {
    onError: (err) => {
      appMetrics.dependencyError('database');
      logger.warn('postgres idle client error', { error: err.message });
    },
    // A rotation moved the secret on: the cached credentials were refused, re-read once and retried.
    onCredentialsRefreshed: (err) => {
      appMetrics.databaseCredentialsRefreshed();
      logger.warn('database refused the cached credentials; re-read the secret and reconnecting', {
        error: err instanceof Error ? err.message : String(err),
      });
    },
  });
  return pool;
};

export const getRouteRepository = (): RouteRepository => {
  repository ??= new GuardedRouteRepository(
    new PgRouteRepository(getPgPool()),
    guardFor('database'),
    retryBudget(),
  );
  return repository;
};

let batchWriter: RouteBatchWriter | undefined;

/** Bulk changes behind the database's breaker; like single writes, never retried here. */
export const getRouteBatchWriter = (): RouteBatchWriter => {
  if (!batchWriter) {
    const inner = new PgRouteBatchWriter(getPgPool());
    const guard = guardFor('database');
    batchWriter = { applyBatch: (operations, ctx) => guard.execute(() => inner.applyBatch(operations, ctx)) };
  }
  return batchWriter;
};

export const getResolveSingleFlight = (): SingleFlight<CacheEntry> => {
  singleFlight ??= new SingleFlight<CacheEntry>();
  return singleFlight;
};

/** Closes the Postgres pool (shutdown.ts closes the rest). */
export const closeClients = async (): Promise<void> => {
  const closing = pool?.end();
  pool = undefined;
  repository = undefined;
  batchWriter = undefined;
  await closing?.catch(() => {});
};
