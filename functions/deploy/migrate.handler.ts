import * as z from 'zod';
import { migrateUp } from '#shared/adapters/postgres/migrate';
import { requireBindings } from '#shared/config/config';
import { customResourceHandler } from '#shared/middleware/custom-resource-handler';
import { logger } from '#shared/observability/logger';
import { functionManifest } from '../function-manifest.ts';
import { migrationDatabaseUrl, migrationsDir } from './deploy-deps.ts';

requireBindings(functionManifest.migrate);

const PHYSICAL_ID = 'traffic-manager-migrations';

const propertiesSchema = z.object({ migrationsDir: z.string().min(1).optional() }).loose();

/**
 * `custom-resources.Provider` onEvent: Create and Update apply every pending migration (node-pg-migrate,
 * under its advisory lock, so a concurrent run waits); Delete keeps the schema (the data outlives the
 * stack). A thrown error fails the deployment, which CloudFormation then rolls back.
 */
export const handler = customResourceHandler(async (event) => {
  const props = propertiesSchema.parse(event.ResourceProperties ?? {});
  const dir = migrationsDir(props.migrationsDir);
  const applied = await migrateUp(await migrationDatabaseUrl(), {
    dir,
    log: (msg) => logger.info(msg),
  });
  logger.info('migrations applied', { dir, applied });
  return { PhysicalResourceId: PHYSICAL_ID, Data: { Applied: applied.join(','), Count: applied.length } };
});
