import { describe, expect, it } from 'vitest';
import {
  DependencyUnavailableError,
  ForbiddenError,
  RateLimitedError,
  RouteNotFoundError,
  UnauthorizedError,
  ValidationError,
} from '#shared/domain/errors';
import { mapError } from '#shared/middleware/error-mapper';

describe('mapError', () => {
  it('maps a validation error to 400 naming the field and rule', () => {
    const { response, unexpected } = mapError(
      new ValidationError([{ field: 'url', rule: 'format', message: 'bad' }]),
      { exposeDetails: false },
    );
    expect(response).toMatchObject({
      status: 400,
      body: { error: 'validation_error', message: 'url: bad', field: 'url', rule: 'format' },
    });
    expect(unexpected).toBe(false);
  });

  it('maps a dependency failure to 503 with Retry-After and hides its cause outside development', () => {
    const err = new DependencyUnavailableError('database', 'database is unavailable', {
      cause: new Error('ECONNREFUSED 10.0.0.1:5432'),
    });
    const prod = mapError(err, { exposeDetails: false }).response;
    expect(prod).toMatchObject({
      status: 503,
      headers: { 'retry-after': '1' },
      body: { dependency: 'database' },
    });
    expect(JSON.stringify(prod.body)).not.toContain('10.0.0.1');
    expect(mapError(err, { exposeDetails: true }).response.body).toMatchObject({
      cause: 'ECONNREFUSED 10.0.0.1:5432',
    });
  });

  it('maps an unknown error to a generic 500 without its message or stack', () => {
    const { response, unexpected } = mapError(new TypeError('secret internals'), { exposeDetails: false });
    expect(response).toEqual({
      status: 500,
      body: { error: 'internal_error', message: 'internal error; see logs by correlation id' },
    });
    expect(unexpected).toBe(true);
  });

  it('maps a missing route to 404', () => {
    expect(mapError(new RouteNotFoundError('no route'), { exposeDetails: false }).response.status).toBe(404);
  });

  it('maps a refused token to 401 with a Bearer challenge and no hint of why', () => {
    const { response } = mapError(new UnauthorizedError('revoked'), { exposeDetails: true });
    expect(response).toEqual({
      status: 401,
      headers: { 'www-authenticate': 'Bearer realm="traffic-manager"' },
      body: {
        error: 'unauthorized',
        message: 'missing or invalid API token; send Authorization: Bearer <token>',
      },
    });
  });

  it('maps a tenant or role the token does not cover to 403', () => {
    expect(mapError(new ForbiddenError('no'), { exposeDetails: false }).response).toMatchObject({
      status: 403,
      body: { error: 'forbidden' },
    });
  });

  it('maps a rate limit to 429 with Retry-After in whole seconds (at least 1)', () => {
    const slow = mapError(new RateLimitedError('tenant', 2100), { exposeDetails: false }).response;
    expect(slow).toMatchObject({
      status: 429,
      headers: { 'retry-after': '3' },
      body: { error: 'rate_limited', scope: 'tenant', retry_after_seconds: 3 },
    });
    expect(mapError(new RateLimitedError('token', 5), { exposeDetails: false }).response.headers).toEqual({
      'retry-after': '1',
    });
  });
});
