import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { getTokenAdminDeps } from '#shared/composition/token-clients';
import { requireBindings } from '#shared/config/config';
import { ACTOR_PATTERN } from '#shared/domain/route.schema';
import { logger, runWithCorrelationId } from '#shared/observability/logger';
import { bootstrapAdminToken } from '#shared/use-cases/manage-tokens.use-case';
import { functionManifest } from '../function-manifest.ts';

requireBindings(functionManifest.bootstrapAdminToken);

const deps = getTokenAdminDeps();

const payloadSchema = z.strictObject({
  principal: z.string().regex(ACTOR_PATTERN).default('bootstrap-admin'),
  /** Short by default: the operator creates named admin tokens with it, then revokes it. */
  expires_in_days: z.number().int().min(1).max(30).default(1),
  /** Break glass: create one even though an active admin token exists. */
  force: z.boolean().default(false),
});

export type BootstrapResponse =
  | { readonly created: true; readonly token: string; readonly token_id: string; readonly expires_at: string }
  | { readonly created: false; readonly message: string };

/**
 * Invoked by an operator with `aws lambda invoke` (never by the API): creates the first admin API token
 * when no admin token is active, and returns its secret in the invocation response, the one place it is
 * ever shown (the secret is not logged; the creation is in token_audit with actor `bootstrap`).
 */
export const handler = async (event: unknown, context: Context): Promise<BootstrapResponse> =>
  runWithCorrelationId(context.awsRequestId, async () => {
    const input = payloadSchema.parse(event ?? {});
    const result = await bootstrapAdminToken(
      deps,
      { principal: input.principal, expiresInDays: input.expires_in_days, force: input.force },
      { actor: input.force ? 'bootstrap:force' : 'bootstrap', correlationId: context.awsRequestId },
    );
    if (result.outcome !== 'created') {
      logger.info('bootstrap: an admin token is active; nothing created');
      return {
        created: false,
        message: 'an admin token is active: create tokens with it, or invoke with {"force": true} (audited)',
      };
    }
    logger.info('bootstrap: admin token created', { token_id: result.token.id, principal: input.principal });
    return {
      created: true,
      token: result.secret,
      token_id: result.token.id,
      expires_at: result.token.expiresAt.toISOString(),
    };
  });
