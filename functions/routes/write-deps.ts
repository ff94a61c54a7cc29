import { getAdmitDeps, reportCacheError } from '#shared/composition/cache-clients';
import { getRouteRepository } from '#shared/composition/clients';
import { getAfterCommitPublisher } from '#shared/composition/publish-clients';
import { getRouteCache } from '#shared/composition/route-cache-clients';
import { getConfig } from '#shared/config/config';
import { authorize } from '#shared/middleware/authorize';
import type { HttpRequest } from '#shared/middleware/http';
import { enforceRateLimit } from '#shared/middleware/rate-limit';
import type { ChangeRouteDeps } from '#shared/use-cases/change-route.use-case';

/** Composition root shared by the write functions. */
export const writeDeps = (): ChangeRouteDeps => {
  const { cache } = getConfig();
  return {
    repository: getRouteRepository(),
    cache: getRouteCache(),
    tombstoneTtlMs: Math.max(cache.positiveTtlMs, cache.negativeTtlMs) * (1 + cache.jitterRatio),
    onCacheError: reportCacheError,
    // Publishes the change's event after commit, bounded by PUBLISH_TIMEOUT_MS; never fails the write.
    ...getAfterCommitPublisher(),
  };
};

/**
 * A write may proceed: the token covers the tenant (else 403) and neither the tenant's write bucket nor
 * the token's bucket is empty (else 429). With Redis down the in-process buckets decide, so writes
 * keep being answered.
 */
export const admitWrite = async (req: HttpRequest, tenant: string): Promise<void> => {
  await enforceRateLimit(getAdmitDeps(), authorize(req, tenant), { tenant, operation: 'write' });
};
