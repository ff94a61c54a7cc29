import { MongoClient, type MongoClientOptions } from 'mongodb';
import { readSecretField } from '#shared/adapters/aws/secrets';
import { ENV } from '#shared/config/bindings';
import { type Config, requireSetting } from '#shared/config/config';

/**
 * A client that works against DocumentDB as well as MongoDB:
 * - `retryWrites=false` (DocumentDB rejects retryable writes);
 * - TLS verified with a CA bundle file when MONGO_TLS_CA_FILE is set (the RDS global bundle in AWS);
 * - credentials from MONGO_SECRET_ARN ({username, password}) when set, else from the URL;
 * - short selection/connect timeouts, so an unreachable store fails a batch fast (and it is retried).
 */
export const createMongoClient = async (
  m: Config['mongo'],
  extra: MongoClientOptions = {},
): Promise<MongoClient> => {
  const auth = m.secretArn
    ? {
        username: await readSecretField(m.secretArn, 'username'),
        password: await readSecretField(m.secretArn, 'password'),
      }
    : undefined;
  return new MongoClient(requireSetting(m.url, ENV.auditStore.url), {
    retryWrites: false,
    ...(m.tlsCaFile ? { tls: true, tlsCAFile: m.tlsCaFile } : {}),
    ...(auth ? { auth } : {}),
    appName: 'traffic-manager',
    serverSelectionTimeoutMS: 3000,
    connectTimeoutMS: 3000,
    socketTimeoutMS: 10_000,
    maxPoolSize: 10,
    maxIdleTimeMS: 60_000,
    ...extra,
  });
};
