import * as z from 'zod';
import { readSecretCredentials } from '#shared/adapters/aws/secrets';
import { createMongoClient } from '#shared/adapters/mongo/mongo-client.mongo';
import { getConfig, requireBindings } from '#shared/config/config';
import { customResourceHandler } from '#shared/middleware/custom-resource-handler';
import { logger } from '#shared/observability/logger';
import { functionManifest } from '../function-manifest.ts';
import { applyAuditSetup } from './audit-user.mongo.ts';
import { retryConnecting } from './connect-retry.ts';

requireBindings(functionManifest.auditStoreSetup);

const PHYSICAL_ID = 'traffic-manager-audit-store';

// CloudFormation hands every property over as a string. `users` is required: a template that forgets it
// fails the deploy rather than leaving the audit functions without a user.
const propertiesSchema = z
  .object({
    users: z.enum(['managed', 'none']),
    /** The audit functions' secret (username, password): that login gets only the audit role. */
    appUserSecretArn: z.string().min(1).optional(),
    indexesHash: z.string().optional(),
  })
  .loose()
  .refine((p) => p.users === 'none' || p.appUserSecretArn, {
    error: 'users=managed needs appUserSecretArn',
  });

/**
 * `custom-resources.Provider` onEvent: Create and Update connect as the DocumentDB master (this function's
 * audit-store binding) and run the plan of audit-user.mongo.ts — the collection's indexes, the audit role
 * (find and insert on that collection), the application user the secret names. Where the stage says the
 * store has no users (`users: none`, the local cloud's Mongo-wire server) only the indexes are made, and
 * the log line says so. Delete keeps everything (the audit trail outlives the stack). A first deploy can
 * reach the cluster before it accepts connections: connection errors are retried for up to 3 minutes.
 */
export const handler = customResourceHandler(async (event) => {
  const props = propertiesSchema.parse(event.ResourceProperties ?? {});
  const { mongo } = getConfig();
  const user =
    props.users === 'managed' && props.appUserSecretArn
      ? await readSecretCredentials(props.appUserSecretArn)
      : undefined;
  const client = await createMongoClient(mongo);
  try {
    const ran = await retryConnecting(
      () =>
        applyAuditSetup(client, {
          database: mongo.database,
          users: props.users,
          user: user && { name: user.user, password: user.password },
        }),
      {
        attempts: 13,
        delayMs: 15_000,
        onRetry: (err, attempt) =>
          logger.warn('audit store not reachable yet, retrying', { attempt, error: String(err) }),
      },
    );
    if (props.users === 'none') {
      logger.warn('audit store without users on this stage: indexes only, no user created', { ran });
    } else logger.info('audit store ready', { ran, user: user?.user });
    return { PhysicalResourceId: PHYSICAL_ID, Data: { Commands: ran.join(','), AppUser: user?.user ?? '' } };
  } finally {
    await client.close();
  }
});
