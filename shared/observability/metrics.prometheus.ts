import client from 'prom-client';
import { type ResolveOutcome, splitSlotOf } from './metric-names.ts';
import type { AppMetrics } from './metrics.ts';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Prometheus (local runner): the seed's metric names, served at GET /metrics. */
export const prometheusRegistry = new client.Registry();

let metrics: AppMetrics | undefined;

/** The Prometheus metrics, created once (every handler in the process shares the registry). */
export const prometheusMetrics = (): AppMetrics => {
  metrics ??= createPrometheusMetrics();
  return metrics;
};

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
  // The counters of EMF's RESOLVE_OUTCOME_METRIC, under the original names.
  const byOutcome: Record<ResolveOutcome, client.Counter> = {
    hit: hits,
    negative_hit: negHits,
    miss: misses,
    bypass,
    error: resolveErrors,
  };
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
  // No reason label: why a token failed is logged, never published (issue 16.7).
  const authRejected = counter('auth_rejected_total', 'API tokens refused by the authorizer');
  // Slot: the version's position (1-10) in its split's order; never the version's name (unbounded).
  const splitResolves = counter('split_resolve_total', 'Resolves without a version', ['slot', 'choice']);
  const splitChanges = counter('split_changes_total', 'Split writes that changed a split');
  const credentialsRefreshed = counter(
    'database_credentials_refreshed_total',
    'Database logins refused with cached credentials, after which the secret was re-read',
  );
  const splitPropagation = new client.Histogram({
    name: 'split_propagation_seconds',
    help: 'From a split change commit to the consumer having applied it',
    labelNames: ['consumer'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [r],
  });
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
    authRejected() {
      authRejected.inc();
    },
    splitResolve(slot, choice) {
      splitResolves.inc({ slot: splitSlotOf(slot), choice });
    },
    splitChanged() {
      splitChanges.inc();
    },
    splitPropagation(consumer, seconds) {
      splitPropagation.observe({ consumer }, seconds);
    },
    databaseCredentialsRefreshed() {
      credentialsRefreshed.inc();
    },
    flush() {},
  };
};
