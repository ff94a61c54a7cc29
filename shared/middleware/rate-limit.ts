import type { Principal } from '#shared/domain/auth';
import { RateLimitedError } from '#shared/domain/errors';
import type { RateDecision, RateLimitTarget } from '#shared/domain/rate-limit';
import { appMetrics } from '#shared/observability/metrics';
import { type AdmitDeps, admitRequest, admitShares } from '#shared/use-cases/admit-request.use-case';

/**
 * Turns a pending limiter decision into a check that throws a 429 (and counts it) when the request is
 * over a limit. The check can be awaited more than once (the resolve path awaits it before a database
 * load and again before answering) and counts once.
 */
export const rateLimitCheck = (decision: Promise<RateDecision>): (() => Promise<void>) => {
  let checked: Promise<void> | undefined;
  return () => {
    checked ??= decision.then((d) => {
      if (d.allowed) return;
      appMetrics.rateLimited(d.scope);
      throw new RateLimitedError(d.scope, d.retryAfterMs);
    });
    return checked;
  };
};

/**
 * Admits a request or throws a 429. While the shared store fails, this process's buckets decide (the
 * resolve path does not use this: it fails open, see resolve-route.handler.ts).
 */
export const enforceRateLimit = (
  deps: AdmitDeps,
  principal: Principal,
  target: RateLimitTarget,
): Promise<void> => rateLimitCheck(admitRequest(deps, principal, target, 'local'))();

/**
 * A bulk change's admission: each tenant charged its number of operations, the token all of them, at
 * once (429 naming the bucket that waits longest). Falls back to this process's buckets like writes.
 */
export const enforceShares = (
  deps: AdmitDeps,
  principal: Principal,
  shares: ReadonlyMap<string, number>,
): Promise<void> => rateLimitCheck(admitShares(deps, principal, shares, 'local'))();
