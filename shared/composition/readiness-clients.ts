import { getConfig } from '#shared/config/config';
import type { ReadinessProbe } from '#shared/use-cases/check-readiness.use-case';
import { getPgPool, getRouteRepository } from './clients.ts';
import { getRouteCache } from './route-cache-clients.ts';

/**
 * The health function's readiness probes: Postgres (critical) and the cache (informational). Apart from
 * clients.ts, so the functions that only need Postgres (the authorizer, the relay, …) do not reach the cache.
 */
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
