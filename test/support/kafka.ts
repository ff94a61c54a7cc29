import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { inject } from 'vitest';

/** The shared broker from global setup (never stop it: use `startKafka` for a private one). */
export const sharedKafkaBrokers = (): string => {
  const brokers = inject('kafkaBrokers');
  if (!brokers) throw new Error('no Kafka: this test needs the services global setup provides');
  return brokers;
};

export const testKafka = (brokers: string): Kafka =>
  new Kafka({
    clientId: 'tm-test',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
  });

/** A topic name no other test file uses. */
export const uniqueTopic = (prefix: string): string => `tm-test-${prefix}-${randomUUID().slice(0, 8)}`;

export const ensureTestTopic = async (brokers: string, topic: string, partitions = 3): Promise<void> => {
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions }] });
  } finally {
    await admin.disconnect();
  }
};

export const deleteTestTopic = async (brokers: string, topic: string): Promise<void> => {
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topic], timeout: 5000 }).catch(() => {});
  } finally {
    await admin.disconnect();
  }
};

/** Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export const eventually = async <T>(
  probe: () => Promise<T | undefined | false>,
  { timeoutMs = 15_000, intervalMs = 50, what = 'condition' } = {},
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
};
