import { getAuthenticateDeps } from '#shared/composition/token-clients';
import { requireBindings } from '#shared/config/config';
import { authorizationValuesOf, toAuthorizerContext } from '#shared/domain/auth';
import { UnauthorizedError } from '#shared/domain/errors';
import { authorizerHandler } from '#shared/middleware/authorizer-handler';
import { authenticateToken } from '#shared/use-cases/authenticate-token.use-case';
import { functionManifest } from '../function-manifest.ts';
import { policyFor } from './authorizer-policy.ts';

requireBindings(functionManifest.authorizer);

const deps = getAuthenticateDeps();

/**
 * API Gateway REQUEST authorizer (identity source: the Authorization header): authenticates the API
 * token and answers with a policy allowing the routes its role may call, and the principal, role,
 * tenants, token id and expiry as context for the handlers (which check the tenant).
 */
export const handler = authorizerHandler(async (event) => {
  const values = authorizationValuesOf(event);
  if (values.length > 1) throw new UnauthorizedError('malformed');
  const principal = await authenticateToken(deps, values[0]);
  return {
    principalId: principal.name,
    policyDocument: policyFor(principal.role, event.methodArn),
    context: toAuthorizerContext(principal),
  };
});
