import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { getConfig } from '#shared/config/config';
import type { Dependency, RateLimitScope, UnauthorizedReason } from '#shared/domain/errors';
import type { CacheOutcome } from '#shared/use-cases/resolve-route.use-case';

export type WriteOperation = 'upsert' | 'activate' | 'deactivate';

/** The route-events consumers (one Lambda function and consumer group each). */
export type ConsumerName = 'cache-invalidation' | 'cache-warming' | 'audit';

/** What the application counts. Dimensions are bounded enums: no paths, tenants or ids. */
export interface AppMetrics {
  resolve(cache: CacheOutcome | 'error', seconds: number): void;
  write(operation: WriteOperation, ok: boolean, seconds: number): void;
  dependencyError(dependency: Dependency): void;
  /** Outbox events acknowledged by Kafka (write path and relay). */
  eventsPublished(count: number): void;
  /** Outbox events whose publish failed or timed out (they stay in the outbox for the relay). */
  eventsPublishFailed(count: number): void;
  /** Unpublished outbox rows and the age of the oldest, as the relay last saw them. */
  outboxBacklog(count: number, oldestAgeSeconds: number): void;
  consumerBatch(consumer: ConsumerName): void;
  /** A batch failed and will be delivered again. */
  consumerRetry(consumer: ConsumerName): void;
  /** Records sent to the failure destination (malformed: never retried). */
  consumerFailedRecords(consumer: ConsumerName, count: number): void;
  /** From the change's commit (occurred_at) to the consumer having applied it. */
  eventPropagation(consumer: ConsumerName, seconds: number): void;
  /** A request refused with 429 by the tenant's or the token's bucket. */
  rateLimited(scope: RateLimitScope): void;
  /** The shared limiter store failed; the request went on under the fail-open rule. */
  rateLimiterError(): void;
  /** A token the authorizer refused (401), by reason. */
  authRejected(reason: UnauthorizedReason): void;
  /** Called once per invocation (EMF flushes its buffer here). */
  flush(): void;
}

/** CloudWatch EMF (Lambda): one log line per invocation, namespace TrafficManager. */
export const createEmfMetrics = (namespace: string, serviceName: string): AppMetrics => {
  const m = new Metrics({ namespace, serviceName });
  m.captureColdStartMetric();
  const CACHE_METRIC = {
    hit: 'ResolveCacheHit',
    negative_hit: 'ResolveNegativeCacheHit',
    miss: 'ResolveCacheMiss',
    bypass: 'ResolveCacheBypass',
    error: 'ResolveFailure',
  } as const;
  return {
    resolve(cache, seconds) {
      m.addMetric('ResolveRequests', MetricUnit.Count, 1);
      m.addMetric(CACHE_METRIC[cache], MetricUnit.Count, 1);
      m.addMetric('ResolveLatency', MetricUnit.Milliseconds, seconds * 1000);
    },
    write(operation, ok, seconds) {
      m.addMetric('WriteRequests', MetricUnit.Count, 1);
      m.addMetric(ok ? 'WriteSuccess' : 'WriteFailure', MetricUnit.Count, 1);
      m.addMetric(`WriteLatency_${operation}`, MetricUnit.Milliseconds, seconds * 1000);
    },
    dependencyError(dependency) {
      m.addMetric(`DependencyError_${dependency}`, MetricUnit.Count, 1);
    },
    eventsPublished(count) {
      m.addMetric('EventsPublished', MetricUnit.Count, count);
    },
    eventsPublishFailed(count) {
      m.addMetric('EventsPublishFailed', MetricUnit.Count, count);
    },
    outboxBacklog(count, oldestAgeSeconds) {
      m.addMetric('OutboxBacklog', MetricUnit.Count, count);
      m.addMetric('OutboxOldestAge', MetricUnit.Seconds, oldestAgeSeconds);
    },
    consumerBatch(consumer) {
      m.addMetric(`ConsumerBatches_${consumer}`, MetricUnit.Count, 1);
    },
    consumerRetry(consumer) {
      m.addMetric(`ConsumerRetries_${consumer}`, MetricUnit.Count, 1);
    },
    consumerFailedRecords(consumer, count) {
      m.addMetric(`ConsumerFailedRecords_${consumer}`, MetricUnit.Count, count);
    },
    eventPropagation(consumer, seconds) {
      m.addMetric(`EventPropagation_${consumer}`, MetricUnit.Milliseconds, seconds * 1000);
    },
    rateLimited(scope) {
      m.addMetric(`RateLimited_${scope}`, MetricUnit.Count, 1);
    },
    rateLimiterError() {
      m.addMetric('RateLimiterErrors', MetricUnit.Count, 1);
    },
    authRejected(reason) {
      m.addMetric(`AuthRejected_${reason}`, MetricUnit.Count, 1);
    },
    flush() {
      m.publishStoredMetrics();
    },
  };
};

const noMetrics: AppMetrics = {
  resolve() {},
  write() {},
  dependencyError() {},
  eventsPublished() {},
  eventsPublishFailed() {},
  outboxBacklog() {},
  consumerBatch() {},
  consumerRetry() {},
  consumerFailedRecords() {},
  eventPropagation() {},
  rateLimited() {},
  rateLimiterError() {},
  authRejected() {},
  flush() {},
};

// prom-client is loaded only where Prometheus is the backend (the local runner): Lambda functions use EMF
// and do not bundle it (the CDK stack marks it external).
const build = async (): Promise<AppMetrics> => {
  const { metrics, serviceName } = getConfig();
  if (metrics.backend === 'prometheus') return (await import('./metrics.prometheus.ts')).prometheusMetrics();
  if (metrics.backend === 'emf') return createEmfMetrics(metrics.namespace, serviceName);
  return noMetrics;
};

export const appMetrics: AppMetrics = await build();
