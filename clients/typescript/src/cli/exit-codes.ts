import {
  AbortedError,
  AuthError,
  BadRequestError,
  ConflictError,
  NotFoundError,
  PreconditionFailedError,
  RateLimitedError,
  ServerError,
  UnavailableError,
} from '../errors.ts';

/** The CLI's exit codes: a pipeline can tell what went wrong without reading the message. */
export const EXIT = {
  ok: 0,
  /** Anything not below (a bug, an unexpected answer). */
  failure: 1,
  /** Bad arguments, or the API refused the input (400, 413, 415, 422). */
  badInput: 2,
  /** 404: no such route (resolve: none active), token or path. */
  notFound: 3,
  /** 412: `--if-match` / `--create-only` did not hold. */
  preconditionFailed: 4,
  /** 409: nothing to roll back, or the same idempotency key is still running. */
  conflict: 5,
  /** 401 / 403: no token, a bad one, or one whose role or tenants do not cover the call. */
  auth: 6,
  /** 429 after the retries. */
  rateLimited: 7,
  /** 5xx after the retries, the API unreachable, or no answer within `--timeout`. */
  unavailable: 8,
} as const;

export const exitCodeOf = (err: unknown): number => {
  if (err instanceof BadRequestError) return EXIT.badInput;
  if (err instanceof NotFoundError) return EXIT.notFound;
  if (err instanceof PreconditionFailedError) return EXIT.preconditionFailed;
  if (err instanceof ConflictError) return EXIT.conflict;
  if (err instanceof AuthError) return EXIT.auth;
  if (err instanceof RateLimitedError) return EXIT.rateLimited;
  if (err instanceof ServerError || err instanceof UnavailableError || err instanceof AbortedError) {
    return EXIT.unavailable;
  }
  return EXIT.failure;
};
