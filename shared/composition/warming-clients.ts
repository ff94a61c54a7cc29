import { getConfig } from '#shared/config/config';
import type { WarmCacheDeps } from '#shared/use-cases/warm-cache.use-case';
import { getRouteRepository } from './clients.ts';
import { getConsumerCache } from './event-clients.ts';
import { getSplitRepository } from './split-clients.ts';

/** The warming consumer's dependencies: the route repository (Postgres) and the consumers' cache. */
export const getWarmCacheDeps = (): WarmCacheDeps => {
  const { cache, database } = getConfig();
  return {
    repository: getRouteRepository(),
    splits: getSplitRepository(),
    cache: getConsumerCache(),
    policy: {
      positiveTtlMs: cache.positiveTtlMs,
      negativeTtlMs: cache.negativeTtlMs,
      jitterRatio: cache.jitterRatio,
    },
    // Half the pool: the other half stays free for whatever else the process serves (the API, locally).
    concurrency: Math.max(1, Math.floor(database.poolMax / 2)),
  };
};
