/** How a call is retried: exponential backoff with full jitter, bounded in attempts and by the call's timeout. */
export interface RetryPolicy {
  /** Requests per call, the first included (1 = no retries). */
  readonly maxAttempts: number;
  /** The first retry waits up to this long; each later one up to twice the previous bound. */
  readonly baseDelayMs: number;
  /** No backoff bound above this. */
  readonly maxDelayMs: number;
  /** A `Retry-After` longer than this is not waited for: the call fails with the answer instead. */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 2_000,
  maxRetryAfterMs: 10_000,
};

/**
 * `Retry-After` (RFC 9110 §10.2.3) in milliseconds from `nowMs`: delay-seconds or an HTTP-date; null
 * when absent or unreadable. A date in the past means "now" (0).
 */
export const parseRetryAfter = (header: string | null | undefined, nowMs: number): number | null => {
  if (header == null) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // HTTP-date forms all start with a day name (Date.parse alone takes "-1" for a year).
  const date = /^[A-Za-z]{3}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - nowMs);
};

/**
 * The wait before retry number `retry` (1 for the first retry). Full jitter (uniform in [0, bound],
 * bound = min(maxDelayMs, baseDelayMs·2^(retry−1))) spreads a fleet's retries instead of synchronising
 * them; a `Retry-After` from the API is a floor the jitter is added above, never below.
 */
export const backoffDelayMs = (
  retry: number,
  policy: RetryPolicy,
  random: () => number,
  retryAfterMs: number | null = null,
): number => {
  const bound = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  const jitter = Math.floor(random() * bound);
  if (retryAfterMs === null) return jitter;
  // Above the server's floor, only a little spread: it said when, not "some time around".
  return retryAfterMs + Math.floor(random() * Math.min(bound, policy.baseDelayMs));
};

/** Which answers a retry may fix: throttling, and the server or something in front of it failing. */
export const isRetryableStatus = (status: number): boolean =>
  status === 429 || status === 500 || status === 502 || status === 503 || status === 504;

/** How much of a call may be retried after a failure whose effect on the server is unknown. */
export type RetryMode =
  /** Reads, and writes that carry an Idempotency-Key (a replay answers with the first outcome). */
  | 'safe'
  /**
   * A write the API does not deduplicate (token create): retried only when the request surely did not
   * run — a 429, or the connection refused before anything was sent.
   */
  | 'unsafe';
