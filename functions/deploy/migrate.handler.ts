import * as z from 'zod';
import { readSecretCredentials } from '#shared/adapters/aws/secrets';
import { migrateUp } from '#shared/adapters/postgres/migrate';
import { requireBindings } from '#shared/config/config';
import { customResourceHandler } from '#shared/middleware/custom-resource-handler';
import { logger } from '#shared/observability/logger';
import { functionManifest } from '../function-manifest.ts';
import { ensureAppUser } from './app-user.pg.ts';
import { retryConnecting } from './connect-retry.ts';
import { migrationDatabaseUrl, migrationsDir } from './deploy-deps.ts';

requireBindings(functionManifest.migrate);

const PHYSICAL_ID = 'traffic-manager-migrations';
/** Up to 3 minutes of waiting for RDS Proxy's target on a first deploy, within the 5-minute timeout. */
const CONNECT_ATTEMPTS = 13;
const CONNECT_RETRY_MS = 15_000;

const propertiesSchema = z
  .object({
    migrationsDir: z.string().min(1).optional(),
    /** The application user's secret (username, password): that user (and its rotation clone) joins the app role. */
    appUserSecretArn: z.string().min(1).optional(),
  })
  .loose();

/**
 * `custom-resources.Provider` onEvent: Create and Update apply every pending migration (node-pg-migrate,
 * under its advisory lock, so a concurrent run waits); Delete keeps the schema (the data outlives the
 * stack). Then the application user named by `appUserSecretArn` is created if missing and given the app
 * role's rights (the functions connect as that user; only this function connects as the master).
 * A connection failure is retried for up to 3 minutes (a first deploy can reach RDS Proxy before its
 * target is available); any other thrown error fails the deployment, which CloudFormation then rolls back.
 */
export const handler = customResourceHandler(async (event) => {
  const props = propertiesSchema.parse(event.ResourceProperties ?? {});
  const dir = migrationsDir(props.migrationsDir);
  const databaseUrl = await migrationDatabaseUrl();
  const applied = await retryConnecting(
    () => migrateUp(databaseUrl, { dir, log: (msg) => logger.info(msg) }),
    {
      attempts: CONNECT_ATTEMPTS,
      delayMs: CONNECT_RETRY_MS,
      onRetry: (err, attempt) =>
        logger.warn('database not reachable yet, retrying', { attempt, error: String(err) }),
    },
  );
  logger.info('migrations applied', { dir, applied });
  let appUser: string | undefined;
  if (props.appUserSecretArn) {
    const { user, password } = await readSecretCredentials(props.appUserSecretArn);
    appUser = user;
    const outcome = await ensureAppUser(databaseUrl, { name: user, password });
    logger.info('application user ready', { user: appUser, outcome });
  }
  return {
    PhysicalResourceId: PHYSICAL_ID,
    Data: { Applied: applied.join(','), Count: applied.length, AppUser: appUser ?? '' },
  };
});
