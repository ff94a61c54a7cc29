import type { Bucket, RateDecision } from '#shared/domain/rate-limit';

/**
 * Takes one token from every bucket, or from none (see `takeFromBuckets`): a request denied by one
 * bucket does not drain the others. Adapters throw DependencyUnavailableError('cache') when their
 * store fails.
 */
export interface RateLimiter {
  take(buckets: readonly Bucket[]): Promise<RateDecision>;
}

/** A limiter that can also take several tokens at once (up to `wanted`; at least one, or a denial). */
export interface LeasableRateLimiter extends RateLimiter {
  takeUpTo(buckets: readonly Bucket[], wanted: number): Promise<{ decision: RateDecision; taken: number }>;
}
