import { ALLOWED, type Bucket, type RateDecision } from '#shared/domain/rate-limit';
import type { LeasableRateLimiter, RateLimiter } from '#shared/ports/rate-limiter.port';

interface Lease {
  /** Tokens already taken from the shared buckets, still to be spent here. */
  tokens: number;
  /** When the leftover tokens are abandoned (epoch ms). */
  until: number;
  /** How many tokens the next refill asks for. */
  size: number;
  /** A denial from the shared buckets, repeated here until its Retry-After has passed. */
  denial: Extract<RateDecision, { allowed: false }> | null;
  blockedUntil: number;
  refill: Promise<RateDecision> | null;
}

export interface LeaseOptions {
  /** How long leased tokens may be spent locally. */
  readonly leaseMs: number;
  /** Bucket sets remembered at most (the oldest is dropped first; it comes back with a fresh lease). */
  readonly maxKeys: number;
}

/**
 * Shared token buckets with local leases, so the resolve hot path does not pay a Redis round trip per
 * request. A refill takes several tokens from the shared buckets in one script call (they are deducted
 * there at once, so the configured limit is never exceeded across containers); this process then
 * spends them without Redis until they run out or the lease ends. Tokens left at the end are
 * abandoned, which only makes the limit stricter, and the lease size follows local demand: it starts
 * at one, doubles while leases are used up within their window, shrinks to what was used when they are
 * not. It never exceeds `leaseMs` worth of the slowest bucket's rate nor a tenth of its burst, so
 * low-rate buckets (tens per second) stay exact. A denial is remembered until its Retry-After, so a
 * flooding tenant costs one Redis call per wait, not one per request.
 */
export class LeasedRateLimiter implements RateLimiter {
  private readonly leases = new Map<string, Lease>();

  constructor(
    private readonly shared: LeasableRateLimiter,
    private readonly options: LeaseOptions = { leaseMs: 50, maxKeys: 10_000 },
    private readonly now: () => number = Date.now,
  ) {}

  async take(buckets: readonly Bucket[]): Promise<RateDecision> {
    if (buckets.length === 0) return ALLOWED;
    // A request with its own cost (a bulk change) is charged in the shared buckets directly, never leased.
    if (buckets.some((b) => (b.cost ?? 1) !== 1)) return (await this.shared.takeUpTo(buckets, 1)).decision;
    const lease = this.leaseFor(buckets.map((b) => b.key).join('\n'));
    for (;;) {
      const now = this.now();
      if (lease.denial && now < lease.blockedUntil)
        return { ...lease.denial, retryAfterMs: lease.blockedUntil - now };
      if (lease.tokens > 0 && now < lease.until) {
        lease.tokens--;
        return ALLOWED;
      }
      // One refill at a time per bucket set; whoever waited for it tries the new lease.
      lease.refill ??= this.refill(lease, buckets, now).finally(() => {
        lease.refill = null;
      });
      const decision = await lease.refill;
      if (!decision.allowed) return decision;
    }
  }

  private async refill(lease: Lease, buckets: readonly Bucket[], now: number): Promise<RateDecision> {
    if (lease.until > 0) {
      if (lease.tokens === 0 && now < lease.until) lease.size *= 2;
      else if (lease.tokens > 0) lease.size = Math.max(1, lease.size - lease.tokens);
    }
    lease.size = Math.min(lease.size, this.maxLeaseOf(buckets));
    const { decision, taken } = await this.shared.takeUpTo(buckets, lease.size);
    if (decision.allowed) {
      lease.tokens = taken;
      lease.until = this.now() + this.options.leaseMs;
      lease.denial = null;
    } else {
      lease.tokens = 0;
      lease.denial = decision;
      lease.blockedUntil = this.now() + decision.retryAfterMs;
    }
    return decision;
  }

  private maxLeaseOf(buckets: readonly Bucket[]): number {
    const perBucket = buckets.map((b) =>
      Math.floor(Math.min((b.perSecond * this.options.leaseMs) / 1000, b.burst / 10)),
    );
    return Math.max(1, Math.min(...perBucket));
  }

  private leaseFor(key: string): Lease {
    let lease = this.leases.get(key);
    if (!lease) {
      lease = { tokens: 0, until: 0, size: 1, denial: null, blockedUntil: 0, refill: null };
      this.leases.set(key, lease);
      if (this.leases.size > this.options.maxKeys) this.leases.delete(this.leases.keys().next().value!);
    }
    return lease;
  }
}
