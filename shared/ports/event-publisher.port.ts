import type { RouteChangedEvent } from '#shared/domain/route';

/**
 * Publishes route events to the event log (Kafka / MSK). `publish` resolves only once the broker has
 * acknowledged every event (acks=all); events of one route are sent in the given order. Adapters throw
 * `DependencyUnavailableError('kafka', …)` when the broker is slow or down.
 */
export interface EventPublisher {
  publish(events: readonly RouteChangedEvent[]): Promise<void>;
  close(): Promise<void>;
}
