/**
 * The CloudWatch EMF metric names, declared once. The emitter (metrics.ts) and the observability stack's
 * alarms and dashboard import them; EMITTED_METRIC_NAMES is every name the code can emit, and the tests
 * hold both sides to it. No CDK and no package imports: Lambda bundles and the CDK app both load this.
 */
import { DEPENDENCIES, RATE_LIMIT_SCOPES } from '#shared/domain/errors';
import { CACHE_OUTCOMES } from '#shared/use-cases/resolve-route.use-case';

export const METRICS_NAMESPACE = 'TrafficManager';

export const WRITE_OPERATIONS = [
  'upsert',
  'activate',
  'deactivate',
  'rollback',
  'batch',
  'split_put',
  'split_delete',
] as const;
export type WriteOperation = (typeof WRITE_OPERATIONS)[number];

/** The route-events consumers (one Lambda function and consumer group each). */
export const CONSUMER_NAMES = ['cache-invalidation', 'cache-warming', 'audit'] as const;
export type ConsumerName = (typeof CONSUMER_NAMES)[number];

/** How a resolve ended: its cache outcome, or `error` when it failed. */
export const RESOLVE_OUTCOMES = [...CACHE_OUTCOMES, 'error'] as const;
export type ResolveOutcome = (typeof RESOLVE_OUTCOMES)[number];

/**
 * A split's versions by their position (1-10) in its fixed order: resolves per chosen version with a
 * bounded label (version names are the tenants' own, so never a label).
 */
export const SPLIT_SLOTS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'] as const;
export type SplitSlot = (typeof SPLIT_SLOTS)[number];

/** The bounded label of a 0-based slot (a split has at most 10 versions). */
export const splitSlotOf = (slot: number): SplitSlot =>
  SPLIT_SLOTS[Math.min(Math.max(slot, 0), SPLIT_SLOTS.length - 1)]!;

/** A resolve without a version chose by the caller's key (sticky) or at random. */
export const SPLIT_CHOICES = ['sticky', 'random'] as const;
export type SplitChoice = (typeof SPLIT_CHOICES)[number];

/** The names that do not vary. */
export const METRIC = {
  /** Written by Powertools on a container's first flush (captureColdStartMetric). */
  coldStart: 'ColdStart',
  resolveRequests: 'ResolveRequests',
  resolveLatency: 'ResolveLatency',
  writeRequests: 'WriteRequests',
  writeSuccess: 'WriteSuccess',
  writeFailure: 'WriteFailure',
  eventsPublished: 'EventsPublished',
  eventsPublishFailed: 'EventsPublishFailed',
  outboxBacklog: 'OutboxBacklog',
  outboxOldestAge: 'OutboxOldestAge',
  rateLimiterErrors: 'RateLimiterErrors',
  /**
   * Tokens the authorizer refused, one count: the reason (unknown, mismatch, revoked, expired) is only
   * logged — a metric anyone can graph must not tell a caller why its token failed (issue 16.7).
   */
  authRejected: 'AuthRejected',
  /** Split writes that changed a split (created, updated or deleted it). */
  splitChanges: 'SplitChanges',
  /** The database refused the cached credentials (a rotation) and the pool re-read its secret once. */
  databaseCredentialsRefreshed: 'DatabaseCredentialsRefreshed',
} as const;

/** One counter per resolve outcome. */
export const RESOLVE_OUTCOME_METRIC = {
  hit: 'ResolveCacheHit',
  negative_hit: 'ResolveNegativeCacheHit',
  miss: 'ResolveCacheMiss',
  bypass: 'ResolveCacheBypass',
  error: 'ResolveFailure',
} as const satisfies Record<ResolveOutcome, string>;

/** A name per enum value (`<Prefix>_<value>`), and `names`, all of them in the enum's order. */
export interface MetricFamily<V extends string, P extends string> {
  (value: V): `${P}_${V}`;
  readonly names: readonly `${P}_${V}`[];
}

const family = <const P extends string, const V extends string>(
  prefix: P,
  values: readonly V[],
): MetricFamily<V, P> => {
  const name = (value: V): `${P}_${V}` => `${prefix}_${value}`;
  return Object.assign(name, { names: values.map(name) });
};

/** The metrics with one name per enum value (their only dimension stays `service`). */
export const METRIC_OF = {
  writeLatency: family('WriteLatency', WRITE_OPERATIONS),
  dependencyError: family('DependencyError', DEPENDENCIES),
  consumerBatches: family('ConsumerBatches', CONSUMER_NAMES),
  consumerRetries: family('ConsumerRetries', CONSUMER_NAMES),
  consumerFailedRecords: family('ConsumerFailedRecords', CONSUMER_NAMES),
  eventPropagation: family('EventPropagation', CONSUMER_NAMES),
  rateLimited: family('RateLimited', RATE_LIMIT_SCOPES),
  splitResolveSlot: family('SplitResolveSlot', SPLIT_SLOTS),
  splitResolveChoice: family('SplitResolve', SPLIT_CHOICES),
  /** From a split change's commit to the consumer having applied it. */
  splitPropagation: family('SplitPropagation', CONSUMER_NAMES),
} as const;

/** A name from this module: what the emitter and the stack's `appMetric` accept. */
export type MetricName =
  | (typeof METRIC)[keyof typeof METRIC]
  | (typeof RESOLVE_OUTCOME_METRIC)[ResolveOutcome]
  | ReturnType<(typeof METRIC_OF)[keyof typeof METRIC_OF]>;

/** Every metric name the code can emit in METRICS_NAMESPACE. */
export const EMITTED_METRIC_NAMES: readonly string[] = [
  ...Object.values(METRIC),
  ...Object.values(RESOLVE_OUTCOME_METRIC),
  ...Object.values(METRIC_OF).flatMap((f) => f.names),
];
