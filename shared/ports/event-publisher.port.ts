import type { OutboxEvent } from '#shared/domain/outbox-event';

/**
 * Publishes route events to the event log (Kafka / MSK). `publish` resolves only once the broker has
 * acknowledged every event (acks=all); events of one route are sent in the given order. Adapters throw
 * `DependencyUnavailableError('kafka', …)` when the broker is slow or down.
 */
export interface EventPublisher {
  publish(events: readonly OutboxEvent[]): Promise<void>;
  close(): Promise<void>;
}
