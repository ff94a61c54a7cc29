/** One small hierarchy; `shared/middleware/error-mapper.ts` is the only place that maps it to HTTP. */
export abstract class AppError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  /** Extra JSON fields for the error body; never secrets or stack traces. */
  readonly details: Record<string, unknown>;

  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.details = details;
  }
}

export interface FieldIssue {
  readonly field: string;
  readonly rule: string;
  readonly message: string;
}

export class ValidationError extends AppError {
  readonly status = 400;
  readonly code = 'validation_error';
  readonly issues: readonly FieldIssue[];

  constructor(issues: readonly FieldIssue[]) {
    const first = issues[0];
    super(first ? `${first.field}: ${first.message}` : 'invalid request', {
      field: first?.field,
      rule: first?.rule,
      issues,
    });
    this.issues = issues;
  }
}

export class MalformedRequestError extends AppError {
  readonly status = 400;
  readonly code = 'malformed_request';
}

export class PayloadTooLargeError extends AppError {
  readonly status = 413;
  readonly code = 'payload_too_large';
}

export class UnsupportedMediaTypeError extends AppError {
  readonly status = 415;
  readonly code = 'unsupported_media_type';
}

export class RouteNotFoundError extends AppError {
  readonly status = 404;
  readonly code = 'route_not_found';
}

/**
 * A write's `If-Match` / `If-None-Match` did not hold: 412 naming the route's current revision (null
 * when the route does not exist), so the caller can re-read and decide.
 */
export class PreconditionFailedError extends AppError {
  readonly status = 412;
  readonly code = 'precondition_failed';
  readonly currentRevision: number | null;

  constructor(message: string, currentRevision: number | null) {
    super(message, { current_revision: currentRevision });
    this.currentRevision = currentRevision;
  }
}

/** A rollback with no earlier revision to restore (a route at revision 1, or `to_revision` not before now). */
export class NothingToRollBackError extends AppError {
  readonly status = 409;
  readonly code = 'nothing_to_roll_back';
  readonly currentRevision: number;

  constructor(message: string, currentRevision: number) {
    super(message, { current_revision: currentRevision });
    this.currentRevision = currentRevision;
  }
}

export class EndpointNotFoundError extends AppError {
  readonly status = 404;
  readonly code = 'not_found';
}

export class MethodNotAllowedError extends AppError {
  readonly status = 405;
  readonly code = 'method_not_allowed';
}

/** A file the function's package should hold is missing or unreadable (a build or deploy defect): 500. */
export class PackagedFileError extends AppError {
  readonly status = 500;
  readonly code = 'packaged_file_unavailable';
}

/** Why a token was refused: for logs and metrics only, never for the caller (no oracle). */
export const UNAUTHORIZED_REASONS = [
  'missing',
  'malformed',
  'unknown',
  'mismatch',
  'expired',
  'revoked',
] as const;
export type UnauthorizedReason = (typeof UNAUTHORIZED_REASONS)[number];

export const UNAUTHORIZED_MESSAGE = 'missing or invalid API token; send Authorization: Bearer <token>';

/** No credentials, or credentials that are malformed, unknown, expired or revoked: 401. */
export class UnauthorizedError extends AppError {
  readonly status = 401;
  readonly code = 'unauthorized';
  readonly reason: UnauthorizedReason;

  constructor(reason: UnauthorizedReason) {
    super(UNAUTHORIZED_MESSAGE);
    this.reason = reason;
  }
}

/** Valid credentials whose role or tenants do not cover the request: 403. */
export class ForbiddenError extends AppError {
  readonly status = 403;
  readonly code = 'forbidden';
}

export const RATE_LIMIT_SCOPES = ['tenant', 'token'] as const;
export type RateLimitScope = (typeof RATE_LIMIT_SCOPES)[number];

/** Over a token bucket: 429 with `Retry-After`. */
export class RateLimitedError extends AppError {
  readonly status = 429;
  readonly code = 'rate_limited';
  readonly scope: RateLimitScope;
  readonly retryAfterSeconds: number;

  constructor(scope: RateLimitScope, retryAfterMs: number) {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super(`rate limit of this ${scope} exceeded; retry after ${seconds} s`, {
      scope,
      retry_after_seconds: seconds,
    });
    this.scope = scope;
    this.retryAfterSeconds = seconds;
  }
}

export class TokenNotFoundError extends AppError {
  readonly status = 404;
  readonly code = 'token_not_found';
}

export const DEPENDENCIES = ['database', 'cache', 'kafka', 'audit_store', 'idempotency_store'] as const;
export type Dependency = (typeof DEPENDENCIES)[number];

/** A dependency failed or is unreachable: 503, and the caller may retry. */
export class DependencyUnavailableError extends AppError {
  readonly status = 503;
  readonly code = 'dependency_unavailable';
  readonly dependency: Dependency;

  constructor(dependency: Dependency, message: string, options?: { cause?: unknown }) {
    super(message, { dependency }, options);
    this.dependency = dependency;
  }
}

const BATCH_CODES = { 400: 'validation_error', 404: 'route_not_found', 409: 'batch_conflict' } as const;

/**
 * A bulk change that applied nothing (issue 15): every failing operation named by index and reason in
 * `failures`. 400 when any operation is invalid, else 409 when operations conflict (one route twice),
 * else 404 when some refer to routes that do not exist.
 */
export class BatchRejectedError extends AppError {
  readonly status: keyof typeof BATCH_CODES;
  readonly code: string;
  readonly failures: readonly { readonly index: number; readonly error: string; readonly message: string }[];

  constructor(
    status: keyof typeof BATCH_CODES,
    failures: readonly { readonly index: number; readonly error: string; readonly message: string }[],
  ) {
    const first = failures[0];
    super(
      `${failures.length} of the batch's operations failed, nothing was applied${first ? `; operations[${first.index}]: ${first.message}` : ''}`,
      { failures },
    );
    this.status = status;
    this.code = BATCH_CODES[status];
    this.failures = failures;
  }
}

/** A request with the same Idempotency-Key is still being processed. */
export class IdempotencyInProgressError extends AppError {
  readonly status = 409;
  readonly code = 'idempotency_in_progress';
}

/** The Idempotency-Key was already used for a request with a different body. */
export class IdempotencyKeyReusedError extends AppError {
  readonly status = 422;
  readonly code = 'idempotency_key_reused';
}

/** A resolve without a version for a (tenant, service, env) that has no split; GET/DELETE of no split. */
export class SplitNotFoundError extends AppError {
  readonly status = 404;
  readonly code = 'no_split';
}

/** A split names a version that is not an existing, active route: 409 naming the version. */
export class VersionUnavailableError extends AppError {
  readonly status = 409;
  readonly code = 'version_unavailable';

  constructor(message: string, version: string) {
    super(message, { version });
  }
}

/** Deactivating a version a split names: 409 naming the split, until the split is changed. */
export class VersionInSplitError extends AppError {
  readonly status = 409;
  readonly code = 'version_in_split';

  constructor(message: string, split: string, version: string) {
    super(message, { split, version });
  }
}
