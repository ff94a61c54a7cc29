// First: the deploy handlers' Kafka client reads KAFKA_BROKERS once, on first use.
import './events.env.ts';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { handler as createTopic } from '#functions/deploy/create-topic.handler';
import { handler as migrate } from '#functions/deploy/migrate.handler';
import { getKafka } from '#shared/composition/publish-clients';
import { deleteTestTopic, sharedKafkaBrokers, uniqueTopic } from '#test/support/kafka';

const context = { awsRequestId: 'deploy-test' } as Context;
const topic = uniqueTopic('deploy');

afterAll(() => deleteTestTopic(sharedKafkaBrokers(), topic));

const cfnEvent = (
  requestType: 'Create' | 'Update' | 'Delete',
  properties: Record<string, string>,
): CloudFormationCustomResourceEvent =>
  ({
    RequestType: requestType,
    RequestId: `req-${requestType}`,
    ResourceProperties: { ServiceToken: 'arn:test', ...properties },
    ...(requestType === 'Create' ? {} : { PhysicalResourceId: `kafka-topic:${topic}` }),
  }) as unknown as CloudFormationCustomResourceEvent;

describe('deploy custom resources', () => {
  it('creates the topic with the requested partitions (CloudFormation strings), idempotently', async () => {
    const props = { topic, numPartitions: '4', replicationFactor: '-1' };

    const created = await createTopic(cfnEvent('Create', props), context);
    const again = await createTopic(cfnEvent('Update', props), context);

    expect(created).toEqual({
      PhysicalResourceId: `kafka-topic:${topic}`,
      Data: { Topic: topic, Partitions: 4, Created: 'true' },
    });
    expect(again.Data).toEqual({ Topic: topic, Partitions: 4, Created: 'false' });
    const admin = (await getKafka()).admin();
    await admin.connect();
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.disconnect();
    expect(metadata.topics[0]?.partitions).toHaveLength(4);
  });

  it('keeps the topic on Delete', async () => {
    expect(await createTopic(cfnEvent('Delete', { topic }), context)).toEqual({
      PhysicalResourceId: `kafka-topic:${topic}`,
    });
  });

  it('applies pending migrations from the directory the resource names, and nothing twice', async () => {
    const result = await migrate(
      cfnEvent('Update', { migrationsDir: 'migrations', migrationsHash: 'x' }),
      context,
    );

    // Global setup already migrated the test database: nothing is pending (and no app user is named).
    expect(result).toEqual({
      PhysicalResourceId: 'traffic-manager-migrations',
      Data: { Applied: '', Count: 0, AppUser: '' },
    });
  });
});
