import { afterEach, describe, expect, it, vi } from 'vitest';
import { DependencyUnavailableError, UnauthorizedError } from '#shared/domain/errors';
import { authorizerHandler } from '#shared/middleware/authorizer-handler';
import { captureOutput } from '#test/support/output';
import { lambdaContext, toAuthorizerEvent } from '../../scripts/local/api-gateway-event.ts';

const SECRET = 'tm_abcdefghijklmnop_SuperSecretValueThatMustNeverBeLogged0000000';
const event = toAuthorizerEvent(
  { method: 'GET', rawHeaders: ['Authorization', `Bearer ${SECRET}`] } as never,
  new URL('http://local/api/v1/routes/resolve'),
  '/api/v1/routes/resolve',
);

afterEach(() => vi.restoreAllMocks());

describe('the authorizer chain', () => {
  it('turns a refused token into the Unauthorized API Gateway answers 401 to', async () => {
    const { lines } = captureOutput();
    const handler = authorizerHandler(async () => {
      throw new UnauthorizedError('revoked');
    });
    await expect(handler(event, lambdaContext('authorizer'))).rejects.toThrow(/^Unauthorized$/);
    expect(lines.join('')).not.toContain('SuperSecretValue');
  });

  it('lets a dependency failure through, so API Gateway answers AUTHORIZER_FAILURE (503), not 401', async () => {
    const handler = authorizerHandler(async () => {
      throw new DependencyUnavailableError('database', 'database is unavailable');
    });
    const err = await handler(event, lambdaContext('authorizer')).catch((e: Error) => e);
    expect(err).toBeInstanceOf(DependencyUnavailableError);
    expect((err as Error).message).not.toBe('Unauthorized');
  });
});
