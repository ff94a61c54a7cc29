import { createHash } from 'node:crypto';
import { lengthPrefixed } from './keys.ts';

/** A split belongs to one (tenant, service, env): it divides resolves without a version among versions. */
export interface SplitKey {
  readonly tenant: string;
  readonly service: string;
  readonly env: string;
}

/** Version → integer weight 0-100; the weights of a split sum to 100. */
export type Weights = Readonly<Record<string, number>>;

export const SPLIT_BUCKETS = 10_000;
export const MAX_SPLIT_VERSIONS = 10;

/** A split as stored: its weights and its revision (bumped on every change, never reused). */
export interface SplitRecord extends SplitKey {
  readonly weights: Weights;
  readonly revision: number;
}

/** One version of a split as resolve needs it: in the fixed order, with its weight and URL. */
export interface SplitTarget {
  readonly version: string;
  readonly weight: number;
  readonly url: string;
}

/**
 * What resolve caches for a split. `cacheRevision` orders cache entries: it is bumped by every change of
 * the split and by every URL change of a version it names (the entry carries those URLs), so the cache's
 * revision rule holds for both. `split` is null when there is no split (never made, or deleted).
 */
export interface SplitState {
  readonly cacheRevision: number;
  readonly split: { readonly revision: number; readonly targets: readonly SplitTarget[] } | null;
}

/** The outbox row of a split change (`split_changed`): the weights before and after. */
export interface SplitChangedEvent extends SplitKey {
  readonly eventId: string;
  readonly eventType: 'split_changed';
  readonly action: 'split_changed';
  /** Null when the change deleted the split. */
  readonly weights: Weights | null;
  /** Null when the change created the split. */
  readonly previousWeights: Weights | null;
  readonly revision: number;
  /** The split's cache revision after the change: consumers tombstone and warm at it. */
  readonly cacheRevision: number;
  readonly changedBy: string;
  readonly changedByTokenId?: string | null;
  readonly occurredAt: string;
  readonly correlationId: string | null;
}

export type SplitWriteOutcome = 'created' | 'updated' | 'unchanged' | 'deleted';

export interface SplitWriteResult {
  readonly outcome: SplitWriteOutcome;
  readonly key: SplitKey;
  /** Null once deleted. */
  readonly weights: Weights | null;
  readonly revision: number;
  readonly cacheRevision: number;
  /** Null when nothing changed. */
  readonly event: SplitChangedEvent | null;
  /** The writer publishes `event` itself after commit (see RouteWriteResult.publishLeased). */
  readonly publishLeased: boolean;
}

export const splitLabel = (k: SplitKey): string => `${k.tenant}/${k.service}/${k.env}`;

/** The fixed order versions are laid out in: byte order of their names (what Postgres' COLLATE "C" sorts). */
export const byVersionName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The bucket (0-9999) of a caller's key: SHA-256 of the length-prefixed (tenant, service, env, key), so
 * it depends on nothing but those four strings (the same in every container, forever) and two splits'
 * keys are independent. 48 bits modulo 10,000: the bias is below 10^-10.
 */
export const bucketOf = (split: SplitKey, routeKey: string): number => {
  const digest = createHash('sha256')
    .update(lengthPrefixed(split.tenant, split.service, split.env, routeKey))
    .digest();
  return digest.readUIntBE(0, 6) % SPLIT_BUCKETS;
};

/**
 * The target owning `bucket`: the targets, in the fixed version order, take consecutive bucket ranges as
 * long as their weights (weight 10 of 100 = 1,000 buckets). So a key keeps its version while the weights
 * stand, and moving weight between two versions adjacent in the order (every two-version split) moves
 * only the keys of the buckets that changed owner, between those two versions. Targets summing to less
 * than 100 (a version missing: it never should) share the buckets in proportion.
 * Returns the target's index in `targets`; -1 when no target has weight.
 */
export const targetIndexOf = (targets: readonly SplitTarget[], bucket: number): number => {
  const total = targets.reduce((sum, t) => sum + t.weight, 0);
  if (total <= 0) return -1;
  // Integer arithmetic: bucket * total / 10,000 compared against the cumulative weights.
  const point = bucket * total;
  let cumulative = 0;
  for (let i = 0; i < targets.length; i++) {
    cumulative += targets[i]!.weight;
    if (point < cumulative * SPLIT_BUCKETS) return i;
  }
  return targets.length - 1;
};

/** Targets in the fixed order from weights and URLs (versions without a URL are left out). */
export const targetsOf = (weights: Weights, urls: Readonly<Record<string, string>>): SplitTarget[] =>
  Object.keys(weights)
    .sort(byVersionName)
    .flatMap((version) => {
      const url = urls[version];
      return url === undefined ? [] : [{ version, weight: weights[version]!, url }];
    });

/** Weights with their keys in the fixed order (how answers and events show them). */
export const orderedWeights = (weights: Weights): Weights =>
  Object.fromEntries(
    Object.keys(weights)
      .sort(byVersionName)
      .map((v) => [v, weights[v]!]),
  );
