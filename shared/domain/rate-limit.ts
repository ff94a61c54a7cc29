import type { Principal, Role } from './auth.ts';
import type { RateLimitScope } from './errors.ts';
import { lengthPrefixed } from './keys.ts';

/** A token bucket's shape: `burst` tokens at most, refilled at `perSecond`. */
export interface Rate {
  readonly perSecond: number;
  readonly burst: number;
}

/** One bucket a request takes a token from. */
export interface Bucket extends Rate {
  readonly scope: RateLimitScope;
  readonly key: string;
  /**
   * Tokens one request takes from this bucket (default 1): a bulk change is charged one per operation
   * (issue 15). A request costing more than the burst is admitted when the bucket is full and leaves it
   * in debt, so the tenant waits out its share rather than never getting through.
   */
  readonly cost?: number;
}

export type RateDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly scope: RateLimitScope; readonly retryAfterMs: number };

export const ALLOWED: RateDecision = { allowed: true };

/** The operations that are rate-limited (health is not). Tenant buckets exist for the first three. */
export type LimitedOperation = 'read' | 'write' | 'audit' | 'admin';

export interface RateLimitPolicy {
  /** Per tenant and operation, shared by every token acting on the tenant. */
  readonly tenant: Readonly<Record<Exclude<LimitedOperation, 'admin'>, Rate>>;
  /** Per token, by the token's role. */
  readonly role: Readonly<Record<Role, Rate>>;
}

export interface RateLimitTarget {
  readonly operation: LimitedOperation;
  /** The tenant the request acts on; absent for tenant-less requests (token admin, audit listings). */
  readonly tenant?: string;
}

/**
 * The buckets one request takes from: its tenant's bucket for the operation (reads apart from writes,
 * so a tenant's write flood cannot starve its own resolves) and its token's bucket. Keys are
 * length-prefixed like cache keys, so no tenant name can address another tenant's bucket.
 */
export const bucketsFor = (
  policy: RateLimitPolicy,
  principal: Principal,
  target: RateLimitTarget,
): Bucket[] => {
  const buckets: Bucket[] = [];
  if (target.tenant !== undefined && target.operation !== 'admin') {
    buckets.push({
      scope: 'tenant',
      key: `tm:rl:v1:tenant:${lengthPrefixed(target.tenant, target.operation)}`,
      ...policy.tenant[target.operation],
    });
  }
  if (principal.tokenId !== null) {
    buckets.push({
      scope: 'token',
      key: `tm:rl:v1:token:${lengthPrefixed(principal.tokenId)}`,
      ...policy.role[principal.role],
    });
  }
  return buckets;
};

/**
 * A bulk change's buckets (issue 15): each tenant's bucket for the operation charged that tenant's share
 * (its number of operations), and the token's bucket charged them all; taken together, all or nothing.
 */
export const bucketsForShares = (
  policy: RateLimitPolicy,
  principal: Principal,
  operation: Exclude<LimitedOperation, 'admin'>,
  shares: ReadonlyMap<string, number>,
): Bucket[] => {
  const buckets: Bucket[] = [];
  let total = 0;
  for (const [tenant, count] of shares) {
    total += count;
    buckets.push({
      scope: 'tenant',
      key: `tm:rl:v1:tenant:${lengthPrefixed(tenant, operation)}`,
      ...policy.tenant[operation],
      cost: count,
    });
  }
  if (principal.tokenId !== null) {
    buckets.push({
      scope: 'token',
      key: `tm:rl:v1:token:${lengthPrefixed(principal.tokenId)}`,
      ...policy.role[principal.role],
      cost: total,
    });
  }
  return buckets;
};

export interface BucketState {
  readonly tokens: number;
  /** When `tokens` was last computed, epoch ms. */
  readonly at: number;
}

/**
 * The token-bucket rule, all or nothing across buckets (the Redis adapter runs the same steps in Lua):
 * 1. refill each bucket for the time since it was last computed, up to its burst (a new bucket is full);
 * 2. if any holds less than one token, deny with the longest wait until one is there, taking nothing;
 * 3. otherwise take from each the same number of tokens: `wanted`, or as many whole tokens as the
 *    emptiest bucket holds if that is fewer (a lease, see rate-limiter.leased.ts; one for a request).
 * A bucket with a `cost` needs min(cost, burst) tokens in step 2 and gives `cost` per request taken in
 * step 3 (it may go below zero: a debt later requests wait out); costly requests are taken one at a time.
 */
export const takeFromBuckets = (
  buckets: readonly Bucket[],
  states: readonly (BucketState | undefined)[],
  now: number,
  wanted = 1,
): { decision: RateDecision; taken: number; states: BucketState[] } => {
  const refilled = buckets.map((b, i) => {
    const s = states[i];
    if (!s) return { tokens: b.burst, at: now };
    const elapsed = Math.max(0, now - s.at);
    return { tokens: Math.min(b.burst, s.tokens + (elapsed * b.perSecond) / 1000), at: now };
  });
  let denied: RateDecision = ALLOWED;
  let taken = wanted;
  for (const [i, b] of buckets.entries()) {
    const tokens = refilled[i]!.tokens;
    const cost = b.cost ?? 1;
    const need = Math.min(cost, b.burst);
    taken = Math.min(taken, Math.max(1, Math.floor(tokens / cost)));
    if (tokens >= need) continue;
    const wait = Math.ceil(((need - tokens) * 1000) / b.perSecond);
    if (denied.allowed || wait > denied.retryAfterMs)
      denied = { allowed: false, scope: b.scope, retryAfterMs: wait };
  }
  if (!denied.allowed) return { decision: denied, taken: 0, states: refilled };
  return {
    decision: ALLOWED,
    taken,
    states: refilled.map((s, i) => ({ tokens: s.tokens - (buckets[i]!.cost ?? 1) * taken, at: now })),
  };
};
