import { isTopicMissing } from '#shared/adapters/kafka/kafka-errors';
import { logThrottle } from '#shared/adapters/kafka/log-throttle';
import { ensureTopic } from '#shared/adapters/kafka/topic-admin.kafka';
import { getKafka, getRelayDeps } from '#shared/composition/publish-clients';
import { getConfig } from '#shared/config/config';
import { logger } from '#shared/observability/logger';
import { relayOutbox } from '#shared/use-cases/relay-outbox.use-case';

export interface OutboxRelayLoop {
  stop(): Promise<void>;
}

/**
 * The outbox relay inside the local runner: the same use case and composition as the scheduled Lambda
 * (functions/relay/outbox-relay.handler.ts), polling continuously instead of in scheduled runs.
 * Unlike the Lambda (no topic admin rights: in AWS the deploy's create-topic resource owns the topic), it
 * re-creates a missing topic itself, with the configured partitions and replication, and goes on.
 */
export const startOutboxRelayLoop = (): OutboxRelayLoop => {
  const { kafka } = getConfig();
  const warnings = logThrottle();
  const deps = {
    ...getRelayDeps(),
    repair: async (err: unknown) => {
      if (!isTopicMissing(err)) return false;
      const result = await ensureTopic(await getKafka(), {
        topic: kafka.topic,
        partitions: kafka.topicPartitions,
        replicationFactor: kafka.topicReplicationFactor,
      });
      const { log, repeated } = warnings('topic missing');
      if (log) logger.warn(`relay: topic ${kafka.topic} was missing; ensured it`, { ...result, repeated });
      return true;
    },
  };
  const controller = new AbortController();
  const running = (async () => {
    while (!controller.signal.aborted) {
      await relayOutbox(deps, { deadline: Date.now() + 60_000, signal: controller.signal });
    }
  })();
  return {
    async stop() {
      controller.abort();
      await running;
    },
  };
};
