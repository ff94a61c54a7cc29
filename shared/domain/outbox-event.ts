import type { RouteChangedEvent } from './route.ts';
import type { SplitChangedEvent } from './split.ts';

/** Every event the outbox carries to the `route-events` topic, told apart by `eventType`. */
export type OutboxEvent = RouteChangedEvent | SplitChangedEvent;

export const isSplitEvent = (e: OutboxEvent): e is SplitChangedEvent => e.eventType === 'split_changed';

export const isRouteEvent = (e: OutboxEvent): e is RouteChangedEvent => e.eventType === 'route_changed';
