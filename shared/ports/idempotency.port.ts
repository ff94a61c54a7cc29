export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface IdempotentResult<T> {
  readonly value: T;
  /** True when the stored result of an earlier request was returned without executing again. */
  readonly replayed: boolean;
}

/**
 * Runs a write at most once per key: a repeat with the same key and payload returns the stored result;
 * the same key with another payload is IdempotencyKeyReusedError; a concurrent duplicate is
 * IdempotencyInProgressError; a failing store is DependencyUnavailableError('idempotency_store').
 */
export interface IdempotencyStore {
  run<T extends Json>(
    key: string,
    payload: Json,
    fn: () => Promise<T>,
    opts: { remainingTimeMs: () => number },
  ): Promise<IdempotentResult<T>>;
}
