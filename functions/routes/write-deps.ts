import { getRouteCache, getRouteRepository, reportCacheError } from '#shared/composition/clients';
import { getAfterCommitPublisher } from '#shared/composition/publish-clients';
import { getConfig } from '#shared/config/config';
import type { ChangeRouteDeps } from '#shared/use-cases/change-route.use-case';

/** Composition root shared by the write functions. */
export const writeDeps = (): ChangeRouteDeps => {
  const { cache } = getConfig();
  return {
    repository: getRouteRepository(),
    cache: getRouteCache(),
    tombstoneTtlMs: Math.max(cache.positiveTtlMs, cache.negativeTtlMs) * (1 + cache.jitterRatio),
    onCacheError: reportCacheError,
    // Publishes the change's outbox rows after commit, bounded by PUBLISH_TIMEOUT_MS; never fails the write.
    afterCommit: getAfterCommitPublisher(),
  };
};
