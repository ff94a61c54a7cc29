import { isAbsolute, resolve } from 'node:path';
import { readSecretCredentials } from '#shared/adapters/aws/secrets';
import { MIGRATIONS_DIR } from '#shared/adapters/postgres/migrate';
import { ENV } from '#shared/config/bindings';
import { getConfig, requireSetting } from '#shared/config/config';

/**
 * Composition root of the deploy functions. In AWS the database is RDS Proxy with the password in
 * Secrets Manager (verified TLS); locally DATABASE_URL carries everything.
 */
export const migrationDatabaseUrl = async (): Promise<string> => {
  const db = getConfig().database;
  if (!db.secretArn || !db.host)
    return requireSetting(db.url, `${ENV.database.url} (or ${ENV.database.host})`);
  const { user, password } = await readSecretCredentials(db.secretArn);
  const url = new URL(`postgres://${db.host}:${db.port}/`);
  url.username = user;
  url.password = password;
  url.pathname = `/${encodeURIComponent(db.name)}`;
  if (db.ssl !== 'disable') url.searchParams.set('sslmode', db.ssl);
  return url.toString();
};

/**
 * Where migrations/ is: MIGRATIONS_DIR, else the directory the custom resource names (copied next to the
 * bundle, so relative to the task root /var/task, which is the working directory), else the repository's.
 */
export const migrationsDir = (fromResource?: string): string => {
  const dir = getConfig().migrationsDir ?? fromResource;
  if (!dir) return MIGRATIONS_DIR;
  return isAbsolute(dir) ? dir : resolve(process.cwd(), dir);
};
