/** The API's JSON error body (`{error, message, …}`); API Gateway's own answers carry only `message`. */
export interface ApiErrorBody {
  readonly error?: string;
  readonly message?: string;
  readonly [field: string]: unknown;
}

export interface ErrorDetails {
  /** HTTP status; undefined when no answer came (network error, timeout). */
  readonly status?: number;
  readonly body?: ApiErrorBody;
  readonly correlationId?: string | null;
  /** How long the API asked us to wait (429, 503), in milliseconds. */
  readonly retryAfterMs?: number | null;
  readonly attempts?: number;
  readonly cause?: unknown;
}

/** Base of every error the client throws; `status` and `code` come from the API when it answered. */
export class TrafficManagerError extends Error {
  readonly status: number | undefined;
  /** The API's `error` code (`route_not_found`, `precondition_failed`, …) or the client's own. */
  readonly code: string;
  readonly body: ApiErrorBody | undefined;
  readonly correlationId: string | null;
  readonly retryAfterMs: number | null;
  /** Requests sent for this call, retries included. */
  readonly attempts: number;

  constructor(message: string, code: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = details.status;
    this.body = details.body;
    this.correlationId = details.correlationId ?? null;
    this.retryAfterMs = details.retryAfterMs ?? null;
    this.attempts = details.attempts ?? 1;
  }
}

/** 400, 413, 415, 422: the request itself is wrong; repeating it cannot help. */
export class BadRequestError extends TrafficManagerError {}

/** 401 (no or bad token) or 403 (the token's role or tenants do not cover the call). */
export class AuthError extends TrafficManagerError {}

/** 404: no such route (resolve: none active), token or path. */
export class NotFoundError extends TrafficManagerError {}

/** 409: nothing to roll back, or an idempotent write with the same key is still running. */
export class ConflictError extends TrafficManagerError {}

/** 412: `If-Match` / `If-None-Match: *` did not hold; `currentRevision` is the route's (null: no route). */
export class PreconditionFailedError extends TrafficManagerError {
  get currentRevision(): number | null {
    const value = this.body?.current_revision;
    return typeof value === 'number' ? value : null;
  }
}

/** 429 that outlasted the retries (or asked for a wait beyond the call's budget). */
export class RateLimitedError extends TrafficManagerError {}

/** 5xx after the retries. */
export class ServerError extends TrafficManagerError {}

/** No answer at all: connection refused or reset, DNS, or the call's timeout ran out. */
export class UnavailableError extends TrafficManagerError {}

/** The caller aborted the call through its own `signal`. */
export class AbortedError extends TrafficManagerError {}

/** Maps an API answer (status ≥ 400) to the error class a caller can `instanceof`. */
export const errorForStatus = (status: number, body: ApiErrorBody | undefined, details: ErrorDetails) => {
  const code = typeof body?.error === 'string' ? body.error : `http_${status}`;
  const message = `${status} ${code}: ${typeof body?.message === 'string' ? body.message : 'no message'}`;
  const all = { ...details, status, body };
  if (status === 401 || status === 403) return new AuthError(message, code, all);
  if (status === 404) return new NotFoundError(message, code, all);
  if (status === 409) return new ConflictError(message, code, all);
  if (status === 412) return new PreconditionFailedError(message, code, all);
  if (status === 429) return new RateLimitedError(message, code, all);
  if (status >= 500) return new ServerError(message, code, all);
  return new BadRequestError(message, code, all);
};
