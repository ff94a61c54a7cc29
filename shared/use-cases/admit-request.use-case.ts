import type { Principal } from '#shared/domain/auth';
import {
  ALLOWED,
  type Bucket,
  bucketsFor,
  bucketsForShares,
  type RateDecision,
  type RateLimitPolicy,
  type RateLimitTarget,
} from '#shared/domain/rate-limit';
import type { RateLimiter } from '#shared/ports/rate-limiter.port';

export interface AdmitDeps {
  /** Null when rate limits are switched off. */
  readonly policy: RateLimitPolicy | null;
  /** The buckets every container shares (Redis); null where the deployment has no Redis. */
  readonly shared: RateLimiter | null;
  /** Buckets in this process: where there is no shared store, and (see `OnLimiterFailure`) while it fails. */
  readonly local: RateLimiter;
  /** Told when the shared store failed, so the caller can count and log it. */
  readonly onLimiterError: (err: unknown) => void;
}

/**
 * What to do when the shared store fails: `allow` fails open (the resolve path: an unavailable limiter
 * must never make resolves fail); `local` falls back to this process's buckets (writes, audit, token
 * administration: still bounded per container, and still answered).
 */
export type OnLimiterFailure = 'allow' | 'local';

/**
 * Whether a request may proceed: one token from each of its buckets (tenant and token), taken
 * atomically. Never rejects: a limiter failure becomes a decision under `onFailure`.
 */
export const admitRequest = async (
  deps: AdmitDeps,
  principal: Principal,
  target: RateLimitTarget,
  onFailure: OnLimiterFailure,
): Promise<RateDecision> => {
  if (!deps.policy) return ALLOWED;
  return admitBuckets(deps, bucketsFor(deps.policy, principal, target), onFailure);
};

/**
 * Whether a bulk change may proceed: each tenant's write bucket gives that tenant's share of the
 * operations and the token's bucket gives them all, atomically (see `bucketsForShares`).
 */
export const admitShares = async (
  deps: AdmitDeps,
  principal: Principal,
  shares: ReadonlyMap<string, number>,
  onFailure: OnLimiterFailure,
): Promise<RateDecision> => {
  if (!deps.policy) return ALLOWED;
  return admitBuckets(deps, bucketsForShares(deps.policy, principal, 'write', shares), onFailure);
};

const admitBuckets = async (
  deps: AdmitDeps,
  buckets: readonly Bucket[],
  onFailure: OnLimiterFailure,
): Promise<RateDecision> => {
  if (buckets.length === 0) return ALLOWED;
  if (!deps.shared) return deps.local.take(buckets);
  try {
    return await deps.shared.take(buckets);
  } catch (err) {
    deps.onLimiterError(err);
    return onFailure === 'allow' ? ALLOWED : deps.local.take(buckets);
  }
};
