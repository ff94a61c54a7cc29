import { cacheKeyOf } from '#shared/domain/cache-entry';
import type { RouteChangedEvent } from '#shared/domain/route';

/**
 * The newest event of each route in a batch, keyed by cache key. Cache writes are revision-guarded, so
 * only the newest revision of a route can matter; the others would be refused anyway.
 */
export const latestPerRoute = (events: readonly RouteChangedEvent[]): Map<string, RouteChangedEvent> => {
  const latest = new Map<string, RouteChangedEvent>();
  for (const event of events) {
    const key = cacheKeyOf(event);
    const seen = latest.get(key);
    if (!seen || seen.revision < event.revision) latest.set(key, event);
  }
  return latest;
};
