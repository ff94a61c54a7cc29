import { createPgPool, type PgPool } from '#shared/adapters/postgres/pg-pool';
import { PgRouteRepository } from '#shared/adapters/postgres/route-repository.pg';
import { getConfig } from '#shared/config/config';
import type { CacheEntry } from '#shared/domain/cache-entry';
import { logger } from '#shared/observability/logger';
import { appMetrics } from '#shared/observability/metrics';
import type { RouteRepository } from '#shared/ports/route-repository.port';
import { GuardedRouteRepository } from '#shared/resilience/guarded-adapters';
import { guardFor, retryBudget } from '#shared/resilience/registry';
import type { ReadinessProbe } from '#shared/use-cases/check-readiness.use-case';
import { SingleFlight } from '#shared/use-cases/single-flight';
import { getRouteCache } from './route-cache-clients.ts';

/**
 * Pooled clients, built lazily once per container (or once per local-runner process) and shared by
 * every handler in it. Handlers call these from their module scope: their composition roots. One module
 * per kind of dependency (this one: Postgres; cache-clients.ts, idempotency-clients.ts, …), so a function
 * bundles only the drivers it uses.
 */
let pool: PgPool | undefined;
let repository: RouteRepository | undefined;
let singleFlight: SingleFlight<CacheEntry> | undefined;

export const getPgPool = (): PgPool => {
  pool ??= createPgPool(getConfig().database, (err) => {
    appMetrics.dependencyError('database');
    logger.warn('postgres idle client error', { error: err.message });
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

export const getResolveSingleFlight = (): SingleFlight<CacheEntry> => {
  singleFlight ??= new SingleFlight<CacheEntry>();
  return singleFlight;
};

const extraProbes: ReadinessProbe[] = [];

/**
 * Probes a host adds to readiness. The local runner adds Kafka and the audit store (events.probes.ts);
 * the health Lambda does not, so it does not bundle their drivers (MSK and DocumentDB have alarms).
 */
export const addReadinessProbes = (...probes: ReadinessProbe[]): void => {
  for (const probe of probes) if (!extraProbes.some((p) => p.name === probe.name)) extraProbes.push(probe);
};

export const readinessProbes = (): ReadinessProbe[] => {
  const p = getPgPool();
  const routeCache = getRouteCache();
  return [
    {
      name: 'database',
      critical: true,
      check: async () => {
        await getRouteRepository().ping();
        return {
          pool: {
            total: p.totalCount,
            idle: p.idleCount,
            waiting: p.waitingCount,
            max: getConfig().database.poolMax,
          },
        };
      },
    },
    {
      name: 'cache',
      critical: false,
      check: async () => {
        if (!routeCache) return { backend: 'none', note: 'running without a cache tier' };
        await routeCache.ping();
        return { backend: routeCache.name };
      },
    },
    ...extraProbes,
  ];
};

/** Closes the Postgres pool (shutdown.ts closes the rest). */
export const closeClients = async (): Promise<void> => {
  const closing = pool?.end();
  pool = undefined;
  repository = undefined;
  await closing?.catch(() => {});
};
