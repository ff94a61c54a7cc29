import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { getConfig } from '#shared/config/config';
import type { Dependency, RateLimitScope } from '#shared/domain/errors';
import {
  type ConsumerName,
  METRIC,
  METRIC_OF,
  type MetricName,
  RESOLVE_OUTCOME_METRIC,
  type ResolveOutcome,
  type SplitChoice,
  splitSlotOf,
  type WriteOperation,
} from './metric-names.ts';

export type { ConsumerName, WriteOperation } from './metric-names.ts';

/** What the application counts. Dimensions are bounded enums: no paths, tenants or ids. */
export interface AppMetrics {
  resolve(cache: ResolveOutcome, seconds: number): void;
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
  /** A token the authorizer refused (401); the reason goes to the log only. */
  authRejected(): void;
  /** A resolve without a version chose the version at `slot` (0-based position in the split's order). */
  splitResolve(slot: number, choice: SplitChoice): void;
  /** A split write changed a split. */
  splitChanged(): void;
  /** From a split change's commit to the consumer having applied it. */
  splitPropagation(consumer: ConsumerName, seconds: number): void;
  /** The database refused the cached credentials; the secret was re-read once (rotation). */
  databaseCredentialsRefreshed(): void;
  /** Called once per invocation (EMF flushes its buffer here). */
  flush(): void;
}

/** CloudWatch EMF (Lambda): one log line per invocation; every name comes from metric-names.ts. */
export const createEmfMetrics = (namespace: string, serviceName: string): AppMetrics => {
  const m = new Metrics({ namespace, serviceName });
  m.captureColdStartMetric();
  const count = (name: MetricName, value = 1) => m.addMetric(name, MetricUnit.Count, value);
  const ms = (name: MetricName, seconds: number) =>
    m.addMetric(name, MetricUnit.Milliseconds, seconds * 1000);
  return {
    resolve(cache, seconds) {
      count(METRIC.resolveRequests);
      count(RESOLVE_OUTCOME_METRIC[cache]);
      ms(METRIC.resolveLatency, seconds);
    },
    write(operation, ok, seconds) {
      count(METRIC.writeRequests);
      count(ok ? METRIC.writeSuccess : METRIC.writeFailure);
      ms(METRIC_OF.writeLatency(operation), seconds);
    },
    dependencyError(dependency) {
      count(METRIC_OF.dependencyError(dependency));
    },
    eventsPublished(n) {
      count(METRIC.eventsPublished, n);
    },
    eventsPublishFailed(n) {
      count(METRIC.eventsPublishFailed, n);
    },
    outboxBacklog(n, oldestAgeSeconds) {
      count(METRIC.outboxBacklog, n);
      m.addMetric(METRIC.outboxOldestAge, MetricUnit.Seconds, oldestAgeSeconds);
    },
    consumerBatch(consumer) {
      count(METRIC_OF.consumerBatches(consumer));
    },
    consumerRetry(consumer) {
      count(METRIC_OF.consumerRetries(consumer));
    },
    consumerFailedRecords(consumer, n) {
      count(METRIC_OF.consumerFailedRecords(consumer), n);
    },
    eventPropagation(consumer, seconds) {
      ms(METRIC_OF.eventPropagation(consumer), seconds);
    },
    rateLimited(scope) {
      count(METRIC_OF.rateLimited(scope));
    },
    rateLimiterError() {
      count(METRIC.rateLimiterErrors);
    },
    authRejected() {
      count(METRIC.authRejected);
    },
    splitResolve(slot, choice) {
      count(METRIC_OF.splitResolveSlot(splitSlotOf(slot)));
      count(METRIC_OF.splitResolveChoice(choice));
    },
    splitChanged() {
      count(METRIC.splitChanges);
    },
    splitPropagation(consumer, seconds) {
      ms(METRIC_OF.splitPropagation(consumer), seconds);
    },
    databaseCredentialsRefreshed() {
      count(METRIC.databaseCredentialsRefreshed);
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
  splitResolve() {},
  splitChanged() {},
  splitPropagation() {},
  databaseCredentialsRefreshed() {},
  flush() {},
};

// The Prometheus backend is loaded only where it is selected (the local runner). Lambda functions use EMF:
// their bundles alias this specifier to a stub (infra/bundling.ts), so they carry neither it nor prom-client.
const build = async (): Promise<AppMetrics> => {
  const { metrics, serviceName } = getConfig();
  if (metrics.backend === 'prometheus') {
    return (await import('#shared/observability/metrics.prometheus')).prometheusMetrics();
  }
  if (metrics.backend === 'emf') return createEmfMetrics(metrics.namespace, serviceName);
  return noMetrics;
};

export const appMetrics: AppMetrics = await build();
