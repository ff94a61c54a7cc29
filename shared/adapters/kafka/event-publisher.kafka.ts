import { type Kafka, Partitioners, type Producer } from 'kafkajs';
import { DependencyUnavailableError } from '#shared/domain/errors';
import type { OutboxEvent } from '#shared/domain/outbox-event';
import { encodeOutboxEvent } from '#shared/events/split-event.encode';
import type { EventPublisher } from '#shared/ports/event-publisher.port';
import { groupCommit } from '../group-commit.ts';
import { isTopicMissing } from './kafka-errors.ts';

/** Events per produce request at most (about 0.5 KB each, well inside the broker's message limits). */
const MAX_BATCH = 500;

/**
 * Publishes to one topic with an idempotent producer: acks=all, one request in flight per broker (so a
 * retried batch cannot overtake the next one), the Java client's murmur2 partitioner (same route key →
 * same partition as any other client would pick). Connects lazily and reconnects after failures.
 * Concurrent publishes are grouped (group-commit.ts): with one request in flight, sending each write's
 * event alone would cap a busy process at one event per broker round trip.
 */
export class KafkaEventPublisher implements EventPublisher {
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;

  constructor(
    private readonly kafka: () => Promise<Kafka>,
    private readonly topic: string,
  ) {}

  private connect(): Promise<Producer> {
    this.connecting ??= (async () => {
      const producer = (await this.kafka()).producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
      });
      producer.on(producer.events.DISCONNECT, () => {
        if (this.producer === producer) this.reset();
      });
      await producer.connect();
      this.producer = producer;
      return producer;
    })().catch((err) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  private reset(): void {
    this.producer = undefined;
    this.connecting = undefined;
  }

  /** Forgets the producer and disconnects it in the background (its sockets must not leak). */
  private drop(): void {
    const connecting = this.connecting;
    this.reset();
    void connecting?.then((p) => p.disconnect()).catch(() => undefined);
  }

  private readonly send = groupCommit<OutboxEvent>((events) => this.sendNow(events), MAX_BATCH);

  publish(events: readonly OutboxEvent[]): Promise<void> {
    return this.send(events);
  }

  private async sendNow(events: readonly OutboxEvent[]): Promise<void> {
    try {
      const producer = await this.connect();
      await producer.send({
        topic: this.topic,
        acks: -1,
        messages: events.map((e) => {
          const m = encodeOutboxEvent(e);
          return { key: m.key, value: m.value, headers: m.headers };
        }),
      });
    } catch (err) {
      // A producer whose broker went away, or whose topic vanished, starts over with fresh metadata.
      if (isTopicMissing(err) || (err instanceof Error && /disconnected|connection/i.test(err.message))) {
        this.drop();
      }
      throw new DependencyUnavailableError('kafka', `publishing to ${this.topic} failed`, { cause: err });
    }
  }

  async close(): Promise<void> {
    const connecting = this.connecting;
    this.reset();
    if (connecting) await (await connecting.catch(() => undefined))?.disconnect();
  }
}
