import './events.env.ts';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as createTopic } from '#functions/deploy/create-topic.handler';
import {
  deleteTestTopic,
  ensureTestTopic,
  eventually,
  sharedKafkaBrokers,
  testKafka,
  uniqueTopic,
} from '#test/support/kafka';
import { startKafkaMappings } from '../../../scripts/cloud/event-sources.ts';

// The local cloud's MSK event source (scripts/cloud/event-sources.ts) on a topic of this file's own on the
// shared broker (never `route-events`, which other runs use), repairing it as `npm start` does: by invoking
// the create-topic custom resource's function again.
const topic = uniqueTopic('repair');
const brokers = sharedKafkaBrokers();
const PARTITIONS = 2;

const received: string[] = [];
const repairs: number[] = [];
const said: string[] = [];
let stop: (() => Promise<void>) | undefined;

const repairTopic = async () => {
  repairs.push(Date.now());
  const event = {
    RequestType: 'Create',
    RequestId: `repair-${repairs.length}`,
    ResourceProperties: { ServiceToken: 'local', topic, numPartitions: String(PARTITIONS) },
  } as unknown as CloudFormationCustomResourceEvent;
  await createTopic(event, { awsRequestId: 'repair' } as Context);
};

const produce = async (value: string) => {
  const producer = testKafka(brokers).producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages: [{ key: value, value }] });
  } finally {
    await producer.disconnect();
  }
};

const partitionsOf = async (): Promise<number | undefined> => {
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return undefined;
    return (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions.length;
  } finally {
    await admin.disconnect();
  }
};

beforeAll(async () => {
  await ensureTestTopic(brokers, topic, PARTITIONS);
  stop = await startKafkaMappings(
    [
      {
        logicalId: 'RepairMapping',
        functionId: 'consumer',
        clusterArn: 'arn:aws:kafka:us-east-1:000000000000:cluster/local/local',
        topic,
        consumerGroup: `${topic}-group`,
        batchSize: 10,
        batchingWindowMs: 0,
        startingPosition: 'TRIM_HORIZON',
        retryAttempts: 2,
        bisect: false,
        onFailure: undefined,
      },
    ],
    {
      brokers,
      functionName: (id) => id,
      invoke: async (_id, event) => {
        const records = Object.values((event as { records: Record<string, { value: string }[]> }).records);
        for (const r of records.flat()) received.push(Buffer.from(r.value, 'base64').toString('utf8'));
        return { ok: true };
      },
      sendToQueue: async () => {},
      say: (line) => said.push(line),
      repairTopic,
    },
  );
}, 60_000);

afterAll(async () => {
  await stop?.();
  await deleteTestTopic(brokers, topic);
}, 60_000);

describe('the local cloud’s event source when its topic disappears', () => {
  it('re-creates the topic through the create-topic function and goes on delivering', async () => {
    await produce('before');
    await eventually(async () => received.includes('before'), {
      timeoutMs: 30_000,
      what: 'the first record',
    });

    await deleteTestTopic(brokers, topic);
    // The broker does not create topics on its own (auto.create.topics.enable=false): only the repair can.
    await eventually(async () => repairs.length > 0, { timeoutMs: 45_000, what: 'a repair' });
    expect(await eventually(partitionsOf, { timeoutMs: 30_000, what: 'the topic again' })).toBe(PARTITIONS);
    await eventually(
      async () => said.some((line) => line.includes(`topic ${topic} was missing; ensured it`)),
      {
        timeoutMs: 10_000,
        what: `the repair's log line (said: ${said.join(' | ')})`,
      },
    );

    // The poller resumes on the new topic (its committed offsets are gone: TRIM_HORIZON, from the start).
    await eventually(
      async () => {
        await produce('after');
        return eventually(async () => received.includes('after'), { timeoutMs: 3000 }).catch(() => false);
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'a record on the re-created topic' },
    );
  }, 150_000);
});
