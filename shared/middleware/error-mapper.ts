import {
  AppError,
  DependencyUnavailableError,
  RateLimitedError,
  UnauthorizedError,
} from '#shared/domain/errors';
import type { JsonResponse } from './http.ts';

export interface MappedError {
  readonly response: JsonResponse;
  /** 5xx that were not a known dependency outage: log them with their stack. */
  readonly unexpected: boolean;
}

const headersOf = (err: AppError): Record<string, string> => {
  if (err instanceof DependencyUnavailableError) return { 'retry-after': '1' };
  if (err instanceof RateLimitedError) return { 'retry-after': String(err.retryAfterSeconds) };
  if (err instanceof UnauthorizedError) return { 'www-authenticate': 'Bearer realm="traffic-manager"' };
  return {};
};

/** The one place typed errors become HTTP: JSON `{error, message, …}`, never a stack trace. */
export const mapError = (err: unknown, opts: { exposeDetails: boolean }): MappedError => {
  if (err instanceof AppError) {
    const headers = headersOf(err);
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
