import { GetBootstrapBrokersCommand, KafkaClient } from '@aws-sdk/client-kafka';
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import type { Config } from '#shared/config/config';
import { logger } from '#shared/observability/logger';

/** Where `npm start` and the tests find Kafka when nothing else is configured. */
export const LOCAL_BROKERS = ['127.0.0.1:19092'];

/**
 * Bootstrap brokers: KAFKA_BROKERS when set; otherwise (MSK) looked up from MSK_CLUSTER_ARN with
 * `GetBootstrapBrokers` — the IAM (SASL) broker string with KAFKA_AUTH=iam, else the TLS one.
 * Callers do this once per container.
 */
export const resolveBrokers = async (k: Config['kafka']): Promise<string[]> => {
  if (k.brokers?.length) return [...k.brokers];
  if (!k.mskClusterArn) return LOCAL_BROKERS;
  const client = new KafkaClient({ region: k.region });
  try {
    const out = await client.send(new GetBootstrapBrokersCommand({ ClusterArn: k.mskClusterArn }));
    const list =
      k.auth === 'iam'
        ? out.BootstrapBrokerStringSaslIam
        : (out.BootstrapBrokerStringTls ?? out.BootstrapBrokerString);
    if (!list)
      throw new Error(`cluster ${k.mskClusterArn} has no ${k.auth === 'iam' ? 'IAM' : 'TLS'} brokers`);
    return list.split(',').map((b) => b.trim());
  } finally {
    client.destroy();
  }
};

const LOG_LEVELS: Record<number, 'debug' | 'warn'> = {
  [logLevel.ERROR]: 'warn',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'debug',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs logs through the application logger; broker outages are warnings (they are also counted).
 * The producer's retries are bounded on purpose (a publish that cannot finish is the relay's to redo,
 * not a send to keep retrying forever in the background), so kafkajs' warning about it is noise.
 */
const logCreator: KafkaConfig['logCreator'] =
  () =>
  ({ level, log }) => {
    const { message, timestamp: _t, logger: _l, ...extra } = log;
    const quiet = message.startsWith('Limiting retries for the idempotent producer');
    logger[quiet ? 'debug' : (LOG_LEVELS[level] ?? 'debug')](`kafka: ${message}`, extra);
  };

/**
 * A kafkajs client. On MSK with IAM: TLS plus SASL OAUTHBEARER, the token signed by
 * aws-msk-iam-sasl-signer-js with the function's role (refreshed by kafkajs on reconnect).
 */
export const createKafka = (k: Config['kafka'], brokers: string[], overrides: Partial<KafkaConfig> = {}) =>
  new Kafka({
    clientId: k.clientId,
    brokers,
    ssl: k.tls,
    ...(k.auth === 'iam'
      ? {
          sasl: {
            mechanism: 'oauthbearer' as const,
            oauthBearerProvider: async () => ({
              value: (await generateAuthToken({ region: k.region })).token,
            }),
          },
        }
      : {}),
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
    logLevel: logLevel.WARN,
    logCreator,
    ...overrides,
  });
