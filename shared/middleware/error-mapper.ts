import { AppError, DependencyUnavailableError } from '#shared/domain/errors';
import type { JsonResponse } from './http.ts';

export interface MappedError {
  readonly response: JsonResponse;
  /** 5xx that were not a known dependency outage: log them with their stack. */
  readonly unexpected: boolean;
}

/** The one place typed errors become HTTP: JSON `{error, message, …}`, never a stack trace. */
export const mapError = (err: unknown, opts: { exposeDetails: boolean }): MappedError => {
  if (err instanceof AppError) {
    const headers: Record<string, string> =
      err instanceof DependencyUnavailableError ? { 'retry-after': '1' } : {};
    const body: Record<string, unknown> = { error: err.code, message: err.message, ...err.details };
    if (opts.exposeDetails && err.cause instanceof Error) body.cause = err.cause.message;
    return { response: { status: err.status, body, headers }, unexpected: false };
  }
  return {
    response: {
      status: 500,
      body: {
        error: 'internal_error',
        message:
          opts.exposeDetails && err instanceof Error
            ? err.message
            : 'internal error; see logs by correlation id',
      },
    },
    unexpected: true,
  };
};
