import { randomUUID } from 'node:crypto';
import { getAdmitDeps, reportCacheError } from '#shared/composition/cache-clients';
import { getRouteBatchWriter, getRouteRepository } from '#shared/composition/clients';
import { getRouteCache } from '#shared/composition/route-cache-clients';
import { getWritePublishing } from '#shared/composition/write-publishing';
import { getConfig } from '#shared/config/config';
import { authorize } from '#shared/middleware/authorize';
import type { HttpRequest } from '#shared/middleware/http';
import { enforceRateLimit } from '#shared/middleware/rate-limit';
import type { ApplyBatchDeps } from '#shared/use-cases/apply-batch.use-case';
import type { ChangeRouteDeps } from '#shared/use-cases/change-route.use-case';

/** The post-write tombstone outlives any entry it must outrank. */
const tombstoneTtlMs = (): number => {
  const { cache } = getConfig();
  return Math.max(cache.positiveTtlMs, cache.negativeTtlMs) * (1 + cache.jitterRatio);
};

/** Composition root shared by the write functions. */
export const writeDeps = (): ChangeRouteDeps => {
  return {
    repository: getRouteRepository(),
    cache: getRouteCache(),
    tombstoneTtlMs: tombstoneTtlMs(),
    onCacheError: reportCacheError,
    afterCommitInBackground: !getConfig().kafka.publishBeforeAnswer,
    // EVENT_PUBLISHER=writer: publishes the change's event after commit, bounded by PUBLISH_TIMEOUT_MS,
    // never failing the write. `relay`: nothing; the relay publishes it.
    ...getWritePublishing(),
  };
};

/** Composition root of the bulk-change function: the single writes' cache and publisher, one transaction. */
export const batchDeps = (): ApplyBatchDeps => {
  const { afterCommitAll, publishLeaseMs } = getWritePublishing();
  return {
    writer: getRouteBatchWriter(),
    cache: getRouteCache(),
    tombstoneTtlMs: tombstoneTtlMs(),
    onCacheError: reportCacheError,
    newBatchId: randomUUID,
    afterCommitInBackground: !getConfig().kafka.publishBeforeAnswer,
    publishLeaseMs,
    afterCommitAll,
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
