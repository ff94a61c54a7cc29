import { getInvalidateCacheDeps } from '#shared/composition/event-clients';
import { getFailureDestination } from '#shared/composition/failure-clients';
import { requireBindings } from '#shared/config/config';
import { mskHandler } from '#shared/middleware/msk-handler';
import { invalidateCache } from '#shared/use-cases/invalidate-cache.use-case';
import { functionManifest } from '../function-manifest.ts';

requireBindings(functionManifest.cacheInvalidation);

const deps = getInvalidateCacheDeps();

/** MSK `route-events` → tombstone each changed route's cache entry at the event's revision. */
export const handler = mskHandler(
  { consumer: 'cache-invalidation', failureDestination: getFailureDestination },
  async (events) => {
    await invalidateCache(
      deps,
      events.map((e) => e.event),
    );
  },
);
