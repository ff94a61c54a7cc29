import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import client from 'prom-client';
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

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Prometheus (local runner): the seed's metric names, served at GET /metrics. */
export const prometheusRegistry = new client.Registry();

const createPrometheusMetrics = (): AppMetrics => {
  const r = prometheusRegistry;
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    new client.Counter({ name, help, labelNames, registers: [r] });
  const resolveTotal = counter('resolve_requests_total', 'Resolve requests');
  const hits = counter('resolve_cache_hit_total', 'Resolves answered by a positive cache entry');
  const misses = counter('resolve_cache_miss_total', 'Resolves that missed the cache (loaded from Postgres)');
  const negHits = counter('resolve_negative_cache_hit_total', 'Resolves answered by a negative cache entry');
  const bypass = counter(
    'resolve_cache_bypass_total',
    'Resolves served from Postgres because the cache failed',
  );
  const resolveErrors = counter('resolve_failure_total', 'Resolves that failed (5xx)');
  const resolveLatency = new client.Histogram({
    name: 'resolve_latency_seconds',
    help: 'Resolve latency',
    buckets: LATENCY_BUCKETS,
    registers: [r],
  });
  const writeTotal = counter('write_requests_total', 'Write requests', ['operation']);
  const writeOk = counter('write_success_total', 'Successful writes', ['operation']);
  const writeFail = counter('write_failure_total', 'Failed writes', ['operation']);
  const writeLatency = new client.Histogram({
    name: 'write_latency_seconds',
    help: 'Write latency',
    labelNames: ['operation'],
    buckets: LATENCY_BUCKETS,
    registers: [r],
  });
  const depErrors = counter('dependency_errors_total', 'Dependency failures seen', ['dependency']);
  const byOutcome = { hit: hits, negative_hit: negHits, miss: misses, bypass, error: resolveErrors };
  const published = counter('events_published_total', 'Outbox events acknowledged by Kafka');
  const publishFailed = counter('events_publish_failed_total', 'Outbox events whose publish failed');
  const backlog = new client.Gauge({
    name: 'outbox_backlog',
    help: 'Unpublished outbox rows',
    registers: [r],
  });
  const oldest = new client.Gauge({
    name: 'outbox_oldest_age_seconds',
    help: 'Age of the oldest unpublished outbox row',
    registers: [r],
  });
  const batches = counter('consumer_batches_total', 'Event batches processed', ['consumer']);
  const retries = counter('consumer_retries_total', 'Event batches failed and redelivered', ['consumer']);
  const failedRecords = counter(
    'consumer_failed_records_total',
    'Malformed records sent to the failure destination',
    ['consumer'],
  );
  const propagation = new client.Histogram({
    name: 'event_propagation_seconds',
    help: 'From the change commit to the consumer having applied it',
    labelNames: ['consumer'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [r],
  });
  const rateLimited = counter('rate_limited_total', 'Requests refused by a rate limit', ['scope']);
  const limiterErrors = counter(
    'rate_limiter_errors_total',
    'Rate limiter store failures (the request went on under the fail-open rule)',
  );
  const authRejected = counter('auth_rejected_total', 'API tokens refused by the authorizer', ['reason']);
  return {
    resolve(cache, seconds) {
      resolveTotal.inc();
      byOutcome[cache].inc();
      resolveLatency.observe(seconds);
    },
    write(operation, ok, seconds) {
      writeTotal.inc({ operation });
      (ok ? writeOk : writeFail).inc({ operation });
      writeLatency.observe({ operation }, seconds);
    },
    dependencyError(dependency) {
      depErrors.inc({ dependency });
    },
    eventsPublished(count) {
      published.inc(count);
    },
    eventsPublishFailed(count) {
      publishFailed.inc(count);
    },
    outboxBacklog(count, oldestAgeSeconds) {
      backlog.set(count);
      oldest.set(oldestAgeSeconds);
    },
    consumerBatch(consumer) {
      batches.inc({ consumer });
    },
    consumerRetry(consumer) {
      retries.inc({ consumer });
    },
    consumerFailedRecords(consumer, count) {
      failedRecords.inc({ consumer }, count);
    },
    eventPropagation(consumer, seconds) {
      propagation.observe({ consumer }, seconds);
    },
    rateLimited(scope) {
      rateLimited.inc({ scope });
    },
    rateLimiterError() {
      limiterErrors.inc();
    },
    authRejected(reason) {
      authRejected.inc({ reason });
    },
    flush() {},
  };
};

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

const build = (): AppMetrics => {
  const { metrics, serviceName } = getConfig();
  if (metrics.backend === 'prometheus') return createPrometheusMetrics();
  if (metrics.backend === 'emf') return createEmfMetrics(metrics.namespace, serviceName);
  return noMetrics;
};

export const appMetrics: AppMetrics = build();
