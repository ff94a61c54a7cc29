import { GetBootstrapBrokersCommand, KafkaClient } from '@aws-sdk/client-kafka';
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { ENV } from '#shared/config/bindings';
import { type Config, requireSetting } from '#shared/config/config';
import { logger } from '#shared/observability/logger';
import { logThrottle } from './log-throttle.ts';

/**
 * Bootstrap brokers: KAFKA_BROKERS when set; otherwise (MSK) looked up from MSK_CLUSTER_ARN with
 * `GetBootstrapBrokers` — the IAM (SASL) broker string with KAFKA_AUTH=iam, else the TLS one.
 * Callers do this once per container.
 */
export const resolveBrokers = async (k: Config['kafka']): Promise<string[]> => {
  if (k.brokers?.length) return [...k.brokers];
  // Outside Lambda the configuration defaults the brokers to the local ones (config.ts: LOCAL_DEFAULTS).
  const clusterArn = requireSetting(k.mskClusterArn, `${ENV.kafka.brokers} or ${ENV.kafka.mskClusterArn}`);
  const client = new KafkaClient({ region: k.region });
  try {
    const out = await client.send(new GetBootstrapBrokersCommand({ ClusterArn: clusterArn }));
    const list =
      k.auth === 'iam'
        ? out.BootstrapBrokerStringSaslIam
        : (out.BootstrapBrokerStringTls ?? out.BootstrapBrokerString);
    if (!list) throw new Error(`cluster ${clusterArn} has no ${k.auth === 'iam' ? 'IAM' : 'TLS'} brokers`);
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
 * kafkajs logs through the application logger; broker outages are warnings (they are also counted), at
 * most one line a second per message and error, with how often it repeated in between.
 * The producer's retries are bounded on purpose (a publish that cannot finish is the relay's to redo,
 * not a send to keep retrying forever in the background), so kafkajs' warning about it is noise.
 */
const logCreator: KafkaConfig['logCreator'] = () => {
  // Per client: while a broker is away every connection, fetch and send fails several times a second.
  const throttle = logThrottle();
  return ({ level, log }) => {
    const { message, timestamp: _t, logger: _l, ...extra } = log;
    const quiet = message.startsWith('Limiting retries for the idempotent producer');
    const severity = quiet ? 'debug' : (LOG_LEVELS[level] ?? 'debug');
    if (severity === 'debug') {
      logger.debug(`kafka: ${message}`, extra);
      return;
    }
    const { log: write, repeated } = throttle(`${message}|${String(extra.error ?? '')}`);
    if (write) logger[severity](`kafka: ${message}`, repeated > 0 ? { ...extra, repeated } : extra);
  };
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
