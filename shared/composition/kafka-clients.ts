import type { Kafka } from 'kafkajs';
import { createKafka, resolveBrokers } from '#shared/adapters/kafka/kafka-client.kafka';
import { getConfig } from '#shared/config/config';
import { DependencyUnavailableError } from '#shared/domain/errors';

/**
 * The kafkajs client, once per container: the producers (publish-clients.ts), the topic admin (the
 * create-topic custom resource, which must not reach the outbox's Postgres) and the readiness probe.
 */
let kafka: Promise<Kafka> | undefined;

/** Bootstrap brokers are resolved once per container (GetBootstrapBrokers on MSK); retried after a failure. */
export const getKafka = (): Promise<Kafka> => {
  kafka ??= (async () => {
    const k = getConfig().kafka;
    return createKafka(k, await resolveBrokers(k));
  })().catch((err) => {
    kafka = undefined;
    throw new DependencyUnavailableError('kafka', 'kafka bootstrap brokers unavailable', { cause: err });
  });
  return kafka;
};

/** Readiness: the cluster answers a metadata request (one attempt; the caller bounds the time). */
export const pingKafka = async (): Promise<Record<string, unknown>> => {
  const admin = (await getKafka()).admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return { brokers: cluster.brokers.length, topic: getConfig().kafka.topic };
  } finally {
    await admin.disconnect().catch(() => {});
  }
};

/** Forgets the client (the producer that uses it is closed by closePublishClients). */
export const resetKafka = (): void => {
  kafka = undefined;
};
