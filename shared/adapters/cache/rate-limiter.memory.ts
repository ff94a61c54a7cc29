import { type Bucket, type BucketState, type RateDecision, takeFromBuckets } from '#shared/domain/rate-limit';
import type { RateLimiter } from '#shared/ports/rate-limiter.port';

/**
 * Token buckets in this process only: the stand-in while Redis is unreachable (and where there is no
 * Redis). Each container then limits on its own, so the effective limit is the configured one times the
 * number of containers. At most `maxKeys` buckets are kept; the least recently used goes first (and
 * comes back full).
 */
export class MemoryRateLimiter implements RateLimiter {
  private readonly states = new Map<string, BucketState>();

  constructor(
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async take(buckets: readonly Bucket[]): Promise<RateDecision> {
    const { decision, states } = takeFromBuckets(
      buckets,
      buckets.map((b) => this.states.get(b.key)),
      this.now(),
    );
    buckets.forEach((b, i) => {
      this.states.delete(b.key); // re-inserted last: Map order is the LRU order
      this.states.set(b.key, states[i]!);
    });
    while (this.states.size > this.maxKeys) this.states.delete(this.states.keys().next().value!);
    return decision;
  }

  get size(): number {
    return this.states.size;
  }
}
