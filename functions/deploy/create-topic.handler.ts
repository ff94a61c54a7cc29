import * as z from 'zod';
import { ensureTopic } from '#shared/adapters/kafka/topic-admin.kafka';
import { getKafka } from '#shared/composition/kafka-clients';
import { getConfig, requireBindings } from '#shared/config/config';
import { customResourceHandler } from '#shared/middleware/custom-resource-handler';
import { logger } from '#shared/observability/logger';
import { functionManifest } from '../function-manifest.ts';

requireBindings(functionManifest.createTopic);

const { kafka } = getConfig();

// CloudFormation hands every property over as a string.
const propertiesSchema = z
  .object({
    topic: z.string().min(1).max(249).default(kafka.topic),
    numPartitions: z.coerce.number().int().min(1).max(1000).default(kafka.topicPartitions),
    replicationFactor: z.coerce.number().int().min(-1).max(10).default(kafka.topicReplicationFactor),
  })
  .loose();

/**
 * `custom-resources.Provider` onEvent: Create and Update make sure the topic exists with at least the
 * given partitions (idempotent: an existing topic is kept, and only ever grown); Delete keeps it, since
 * its events outlive the stack.
 */
export const handler = customResourceHandler(async (event) => {
  const spec = propertiesSchema.parse(event.ResourceProperties ?? {});
  const result = await ensureTopic(await getKafka(), {
    topic: spec.topic,
    partitions: spec.numPartitions,
    replicationFactor: spec.replicationFactor,
  });
  logger.info('topic ready', { topic: spec.topic, ...result });
  return {
    PhysicalResourceId: `kafka-topic:${spec.topic}`,
    Data: { Topic: spec.topic, Partitions: result.partitions, Created: String(result.created) },
  };
});
