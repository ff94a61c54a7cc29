import { getConfig } from '#shared/config/config';
import type { ReadinessProbe } from '#shared/use-cases/check-readiness.use-case';
import { getPgPool, getRouteRepository } from './clients.ts';
import { pingKafka } from './kafka-clients.ts';
import { getRouteCache } from './route-cache-clients.ts';

/**
 * The health function's readiness probes: Postgres (critical), the cache and Kafka (informational: writes
 * keep their events in the outbox while Kafka is away). Apart from clients.ts, so the functions that only
 * need Postgres (the authorizer, the relay, …) reach neither the cache nor Kafka.
 */
const extraProbes: ReadinessProbe[] = [];

/**
 * The readiness route is public: concurrent calls share one Kafka metadata request rather than open a
 * connection each (in Lambda one container serves one call at a time; its concurrency bounds the rest).
 * A finished answer is not reused, so a broker that just went away shows at once.
 */
let kafkaProbe: Promise<Record<string, unknown>> | undefined;

const probeKafka = (): Promise<Record<string, unknown>> => {
  kafkaProbe ??= pingKafka().finally(() => {
    kafkaProbe = undefined;
  });
  return kafkaProbe;
};

/**
 * Probes a host adds to readiness: the local runner adds the audit store (event-probes.ts); the health
 * Lambda does not, so it does not bundle the Mongo driver (DocumentDB has alarms).
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
    { name: 'kafka', critical: false, check: probeKafka },
    ...extraProbes,
  ];
};
