import { getFailureDestination, getWarmCacheDeps } from '#shared/composition/event-clients';
import { mskHandler } from '#shared/middleware/msk-handler';
import { warmCache } from '#shared/use-cases/warm-cache.use-case';

const deps = getWarmCacheDeps();

/** MSK `route-events` → re-read each changed route from Postgres and cache it at its revision. */
export const handler = mskHandler(
  { consumer: 'cache-warming', failureDestination: getFailureDestination },
  async (events) => {
    await warmCache(
      deps,
      events.map((e) => e.event),
    );
  },
);
