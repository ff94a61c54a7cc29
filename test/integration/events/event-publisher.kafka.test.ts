import type { KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaEventPublisher } from '#shared/adapters/kafka/event-publisher.kafka';
import { createKafka } from '#shared/adapters/kafka/kafka-client.kafka';
import { ensureTopic } from '#shared/adapters/kafka/topic-admin.kafka';
import { getConfig } from '#shared/config/config';
import { DependencyUnavailableError } from '#shared/domain/errors';
import type { RouteChangedEvent } from '#shared/domain/route';
import { routeEventKey, routeEventSchema } from '#shared/events/route-event.schema';
import { uniqueRouteKey } from '#test/support/fixtures';
import { deleteTestTopic, eventually, sharedKafkaBrokers, uniqueTopic } from '#test/support/kafka';
import { routeEvent } from '../../unit/events/event-fakes.ts';

const brokers = sharedKafkaBrokers();
const topic = uniqueTopic('publisher');
const kafka = createKafka(getConfig().kafka, brokers.split(','));
const publisher = new KafkaEventPublisher(async () => kafka, topic);

beforeAll(async () => {
  await ensureTopic(kafka, { topic, partitions: 3, replicationFactor: -1 });
});

afterAll(async () => {
  await publisher.close();
  await deleteTestTopic(brokers, topic);
});

const consumeAll = async (count: number, reader = 'reader') => {
  const consumer = kafka.consumer({ groupId: `${topic}-${reader}`, maxWaitTimeInMs: 100 });
  const got: { partition: number; message: KafkaMessage }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => void got.push({ partition, message }),
  });
  try {
    await eventually(async () => got.length >= count, { what: `${count} messages` });
  } finally {
    await consumer.disconnect();
  }
  return got;
};

describe('KafkaEventPublisher on a real broker', () => {
  it("sends each route's events to one partition, keyed by route, in order, with headers and the wire schema", async () => {
    const [a, b] = [uniqueRouteKey(), uniqueRouteKey({ version: 'v9' })];
    const events: RouteChangedEvent[] = [
      routeEvent({ revision: 1, correlationId: 'req-a1' }, a),
      routeEvent({ revision: 1 }, b),
      routeEvent({ revision: 2, action: 'updated', previousUrl: 'https://x' }, a),
      routeEvent({ revision: 3, action: 'deactivated' }, a),
    ];

    await publisher.publish(events);
    const got = await consumeAll(4);

    const ofA = got.filter((g) => g.message.key?.toString() === routeEventKey(a));
    expect(new Set(ofA.map((g) => g.partition)).size).toBe(1);
    const values = ofA.map((g) => routeEventSchema.parse(JSON.parse(g.message.value!.toString())));
    expect(values.map((v) => v.revision)).toEqual([1, 2, 3]);
    expect(ofA[0]!.message.headers).toMatchObject({
      'x-correlation-id': Buffer.from('req-a1'),
      'event-type': Buffer.from('route_changed'),
      'schema-version': Buffer.from('1'),
    });
  });

  it('keeps concurrent publishes in call order (they are grouped into shared produce requests)', async () => {
    const c = uniqueRouteKey({ version: 'v7' });
    const events = Array.from({ length: 100 }, (_, i) => routeEvent({ revision: i + 1 }, c));

    await Promise.all(events.map((e) => publisher.publish([e])));
    const got = await consumeAll(104, 'grouped'); // the 4 of the test above, then these

    const revisions = got
      .filter((g) => g.message.key?.toString() === routeEventKey(c))
      .map((g) => routeEventSchema.parse(JSON.parse(g.message.value!.toString())).revision);
    expect(revisions).toEqual(events.map((e) => e.revision));
  });

  it('reports an unreachable broker as kafka unavailable', async () => {
    const dead = createKafka(getConfig().kafka, ['127.0.0.1:1'], {
      retry: { retries: 0 },
      connectionTimeout: 200,
    });
    const failing = new KafkaEventPublisher(async () => dead, topic);

    await expect(failing.publish([routeEvent()])).rejects.toBeInstanceOf(DependencyUnavailableError);
    await failing.close();
  });
});

describe('ensureTopic', () => {
  it('is idempotent and only ever grows the partition count', async () => {
    const name = uniqueTopic('ensure');
    try {
      expect(await ensureTopic(kafka, { topic: name, partitions: 2, replicationFactor: -1 })).toEqual({
        created: true,
        partitions: 2,
      });
      expect(await ensureTopic(kafka, { topic: name, partitions: 2, replicationFactor: -1 })).toEqual({
        created: false,
        partitions: 2,
      });
      expect(await ensureTopic(kafka, { topic: name, partitions: 4, replicationFactor: -1 })).toEqual({
        created: false,
        partitions: 4,
      });
      expect(await ensureTopic(kafka, { topic: name, partitions: 1, replicationFactor: -1 })).toEqual({
        created: false,
        partitions: 4,
      });
    } finally {
      await deleteTestTopic(brokers, name);
    }
  });
});
