import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import * as z from 'zod';
import { migrateUp } from '#shared/adapters/postgres/migrate';
import { logger, runWithCorrelationId } from '#shared/observability/logger';
import { migrationDatabaseUrl, migrationsDir } from './deploy-deps.ts';

const PHYSICAL_ID = 'traffic-manager-migrations';

const propertiesSchema = z.object({ migrationsDir: z.string().min(1).optional() }).loose();

export interface ProviderResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string | number>;
}

/**
 * `custom-resources.Provider` onEvent: Create and Update apply every pending migration (node-pg-migrate,
 * under its advisory lock, so a concurrent run waits); Delete keeps the schema (the data outlives the
 * stack). A thrown error fails the deployment, which CloudFormation then rolls back.
 */
export const handler = async (
  event: CloudFormationCustomResourceEvent,
  context: Context,
): Promise<ProviderResponse> =>
  runWithCorrelationId(event.RequestId ?? context.awsRequestId, async () => {
    if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
    const props = propertiesSchema.parse(event.ResourceProperties ?? {});
    const dir = migrationsDir(props.migrationsDir);
    const applied = await migrateUp(await migrationDatabaseUrl(), {
      dir,
      log: (msg) => logger.info(msg),
    });
    logger.info('migrations applied', { dir, applied });
    return { PhysicalResourceId: PHYSICAL_ID, Data: { Applied: applied.join(','), Count: applied.length } };
  });
