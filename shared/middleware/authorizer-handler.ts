import middy from '@middy/core';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import { DependencyUnavailableError, UnauthorizedError } from '#shared/domain/errors';
import { logger, runWithCorrelationId } from '#shared/observability/logger';
import { appMetrics } from '#shared/observability/metrics';
import { pickCorrelationId } from './correlation-id.ts';

export type AuthorizerEvent = APIGatewayRequestAuthorizerEvent;
export type AuthorizerResult = APIGatewayAuthorizerResult;

/**
 * The one middy chain for the API Gateway Lambda authorizer (REQUEST type). A refused token becomes
 * the `Unauthorized` error API Gateway answers with 401 (the reason is counted and logged, never the
 * token); any other failure propagates, and API Gateway answers AUTHORIZER_FAILURE (a JSON 503).
 */
export const authorizerHandler = (fn: (event: AuthorizerEvent) => Promise<AuthorizerResult>) => {
  const chain = middy<AuthorizerEvent, AuthorizerResult, Error, Context>()
    .use({
      onError: (request) => {
        const err = request.error;
        if (err instanceof UnauthorizedError) {
          appMetrics.authRejected(); // one count; the reason only in the log line below
          logger.info('API token refused', { reason: err.reason });
          request.error = new Error('Unauthorized');
        } else if (err instanceof DependencyUnavailableError) {
          logger.warn('cannot check API tokens: dependency unavailable', { dependency: err.dependency });
        } else {
          logger.error('authorizer failed', err as Error);
        }
      },
    })
    .handler((event) => fn(event));

  return async (event: AuthorizerEvent, context: Context): Promise<AuthorizerResult> => {
    try {
      return await runWithCorrelationId(pickCorrelationId(event.headers), () => chain(event, context));
    } finally {
      appMetrics.flush();
    }
  };
};
