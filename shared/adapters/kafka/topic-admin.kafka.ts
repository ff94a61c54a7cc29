import type { Kafka } from 'kafkajs';

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  /** -1: the broker's `default.replication.factor` (3 on a three-AZ MSK cluster). */
  readonly replicationFactor: number;
}

/**
 * Creates the topic if it is missing and grows its partition count if it has fewer than asked (Kafka
 * cannot shrink a topic; growing remaps keys to partitions, so do it before traffic, not casually).
 * Safe to run any number of times.
 */
export const ensureTopic = async (
  kafka: Kafka,
  spec: TopicSpec,
): Promise<{ created: boolean; partitions: number }> => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: spec.topic, numPartitions: spec.partitions, replicationFactor: spec.replicationFactor },
      ],
    });
    if (created) return { created, partitions: spec.partitions };
    const metadata = await admin.fetchTopicMetadata({ topics: [spec.topic] });
    const current = metadata.topics[0]?.partitions.length ?? 0;
    if (current < spec.partitions) {
      await admin.createPartitions({ topicPartitions: [{ topic: spec.topic, count: spec.partitions }] });
      return { created: false, partitions: spec.partitions };
    }
    return { created: false, partitions: current };
  } finally {
    await admin.disconnect();
  }
};
