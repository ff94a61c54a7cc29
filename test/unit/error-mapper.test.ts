import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError, RouteNotFoundError, ValidationError } from '#shared/domain/errors';
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
});
