import type { Bucket, RateDecision } from '#shared/domain/rate-limit';

/**
 * Takes one token from every bucket, or from none (see `takeFromBuckets`): a request denied by one
 * bucket does not drain the others. Adapters throw DependencyUnavailableError('cache') when their
 * store fails.
 */
export interface RateLimiter {
  take(buckets: readonly Bucket[]): Promise<RateDecision>;
}
