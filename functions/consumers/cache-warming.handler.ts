import { getFailureDestination } from '#shared/composition/failure-clients';
import { getWarmCacheDeps } from '#shared/composition/warming-clients';
import { requireBindings } from '#shared/config/config';
import { mskHandler } from '#shared/middleware/msk-handler';
import { warmCache } from '#shared/use-cases/warm-cache.use-case';
import { functionManifest } from '../function-manifest.ts';

requireBindings(functionManifest.cacheWarming);

const deps = getWarmCacheDeps();

/** MSK `route-events` → cache each changed route's state at its revision (from the event; rollbacks re-read). */
export const handler = mskHandler(
  { consumer: 'cache-warming', failureDestination: getFailureDestination },
  async (events) => {
    await warmCache(
      deps,
      events.map((e) => e.event),
    );
  },
);
