import { Aws, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { consumerFunctions } from '#functions/route-table';
import type { StageConfig } from '#infra/config/stages';
import { SERVICE_NAME } from '#infra/constructs/app-function';
import { ROUTE_EVENTS_TOPIC, type StatefulStack } from '#infra/stacks/stateful.stack';
import type { StatelessStack } from '#infra/stacks/stateless.stack';
import {
  METRIC,
  METRIC_OF,
  METRICS_NAMESPACE,
  type MetricName,
  RESOLVE_OUTCOME_METRIC,
} from '#shared/observability/metric-names';

export interface ObservabilityStackProps extends StackProps {
  readonly stage: StageConfig;
  readonly stateful: StatefulStack;
  readonly stateless: StatelessStack;
}

const ONE_MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);

/**
 * An application metric the functions emit as EMF: a name from metric-names.ts, in METRICS_NAMESPACE, with
 * the one dimension EMF writes (service). Any other dimension would name a series nothing emits.
 */
export const appMetric = (metricName: MetricName, statistic: string, period: Duration = ONE_MINUTE) =>
  new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME },
    statistic,
    period,
  });

/** An AWS service metric (namespace AWS/…) with the dimensions the service publishes it under. */
const awsMetric = (
  namespace: string,
  metricName: string,
  dimensionsMap: Record<string, string>,
  statistic: string,
  period: Duration = ONE_MINUTE,
  label?: string,
) => new cloudwatch.Metric({ namespace, metricName, dimensionsMap, statistic, period, label });

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/**
 * The dashboard and the alarms; alarms notify one SNS topic (and the e-mail address the stage or
 * `-c alarmEmail=…` names). Missing data is OK for alarms on traffic (no requests, no errors) and breaching
 * where silence itself is the failure: the relay's heartbeat and the outbox age it reports.
 */
export class ObservabilityStack extends Stack {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: readonly cloudwatch.Alarm[];
  readonly alarmTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    super(scope, id, props);
    const { stage, stateful, stateless } = props;
    const thresholds = stage.alarms;
    const prefix = `traffic-manager-${stage.name}`;

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `${prefix} alarms`,
      enforceSSL: true,
    });
    if (thresholds.email)
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(thresholds.email));
    const alarms: cloudwatch.Alarm[] = [];
    const alarm = (
      alarmId: string,
      metric: cloudwatch.Metric | cloudwatch.MathExpression,
      threshold: number,
      description: string,
      options: Partial<cloudwatch.CreateAlarmOptions> = {},
    ): cloudwatch.Alarm => {
      const created = metric.createAlarm(this, alarmId, {
        alarmName: `${prefix}-${alarmId}`,
        alarmDescription: description,
        threshold,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...options,
      });
      created.addAlarmAction(new actions.SnsAction(this.alarmTopic));
      created.addOkAction(new actions.SnsAction(this.alarmTopic));
      alarms.push(created);
      return created;
    };

    // Read path.
    const p50 = appMetric(METRIC.resolveLatency, 'p50');
    const p99 = appMetric(METRIC.resolveLatency, 'p99');
    const cacheHitRatio = new cloudwatch.MathExpression({
      label: 'Cache hit ratio (%)',
      expression: '100 * (hits + negativeHits) / requests',
      usingMetrics: {
        hits: appMetric(RESOLVE_OUTCOME_METRIC.hit, 'Sum', FIVE_MINUTES),
        negativeHits: appMetric(RESOLVE_OUTCOME_METRIC.negative_hit, 'Sum', FIVE_MINUTES),
        requests: appMetric(METRIC.resolveRequests, 'Sum', FIVE_MINUTES),
      },
      period: FIVE_MINUTES,
    });
    alarm(
      'ResolveLatencyP99',
      p99,
      thresholds.resolveP99Ms,
      `Resolve p99 above ${thresholds.resolveP99Ms} ms`,
    );
    alarm(
      'CacheHitRatioLow',
      cacheHitRatio,
      thresholds.cacheHitRatioMinPercent,
      `Cache hit ratio below ${thresholds.cacheHitRatioMinPercent}%: Valkey down or keys churning`,
      { comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD },
    );

    // API.
    const apiStage = stateless.api.api.deploymentStage;
    const api4xx = apiStage.metricClientError({ statistic: 'Sum', period: ONE_MINUTE });
    const api5xx = apiStage.metricServerError({ statistic: 'Sum', period: ONE_MINUTE });
    const apiCount = apiStage.metricCount({ statistic: 'SampleCount', period: ONE_MINUTE });
    const api4xxPercent = new cloudwatch.MathExpression({
      label: '4xx (%)',
      expression: '100 * errors / FILL(requests, 1)',
      usingMetrics: { errors: api4xx, requests: apiCount },
      period: ONE_MINUTE,
    });
    alarm(
      'Api5xx',
      api5xx,
      thresholds.api5xxPerMinute,
      `More than ${thresholds.api5xxPerMinute} 5xx a minute`,
    );
    alarm(
      'Api4xxRate',
      api4xxPercent,
      thresholds.api4xxPercent,
      `4xx above ${thresholds.api4xxPercent}% of requests`,
    );
    const apiP99 = apiStage.metricLatency({ statistic: 'p99', period: ONE_MINUTE });
    alarm(
      'ApiLatencyP99',
      apiP99,
      thresholds.apiP99Ms,
      `API Gateway p99 latency above ${thresholds.apiP99Ms} ms (every route, authorizer included)`,
    );

    // Write path and outbox.
    const writeFailures = appMetric(METRIC.writeFailure, 'Sum', FIVE_MINUTES);
    alarm(
      'WriteFailures',
      writeFailures,
      thresholds.writeFailuresPer5Min,
      `More than ${thresholds.writeFailuresPer5Min} failed writes in 5 minutes`,
      { evaluationPeriods: 1, datapointsToAlarm: 1 },
    );
    const outboxBacklog = appMetric(METRIC.outboxBacklog, 'Maximum');
    const outboxAge = appMetric(METRIC.outboxOldestAge, 'Maximum');
    alarm(
      'OutboxBacklogAge',
      outboxAge,
      thresholds.outboxOldestAgeSeconds,
      `Oldest unpublished outbox row older than ${thresholds.outboxOldestAgeSeconds}s, or no report at all: relay or MSK stuck`,
      // The relay reports the age on every run: no data means no relay run reached the database.
      { treatMissingData: cloudwatch.TreatMissingData.BREACHING },
    );
    const relay = stateless.functions.outboxRelay;
    if (relay) {
      alarm(
        'RelayHeartbeat',
        relay.fn.metricInvocations({ statistic: 'Sum', period: FIVE_MINUTES }),
        1,
        'The outbox relay has not run for 5 minutes: its schedule or function is broken',
        {
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: 1,
          datapointsToAlarm: 1,
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        },
      );
    }

    // Consumers: MSK consumer-group lag, and what landed in the failure queue.
    const kafka = stateful.stores?.kafka;
    const lagMetrics: { max: cloudwatch.Metric; sum: cloudwatch.Metric; group: string }[] = [];
    const esmLag: cloudwatch.Metric[] = [];
    if (kafka) {
      for (const [fnId, spec] of Object.entries(consumerFunctions)) {
        // The event source mapping's own lag (AWS/Lambda OffsetLag, per function): MSK's consumer-group
        // metrics go missing while a group rebalances; this one is reported by the pollers themselves.
        const consumer = stateless.functions[fnId as keyof typeof consumerFunctions];
        if (consumer) {
          const lag = consumer.fn.metric('OffsetLag', {
            statistic: 'Maximum',
            period: ONE_MINUTE,
            label: `${fnId} event source lag`,
          });
          esmLag.push(lag);
          alarm(
            `EventSourceLag-${fnId}`,
            lag,
            thresholds.consumerMaxOffsetLag,
            `${fnId}'s event source mapping more than ${thresholds.consumerMaxOffsetLag} records behind`,
            { evaluationPeriods: 5, datapointsToAlarm: 5 },
          );
        }
        const dims = {
          'Cluster Name': kafka.clusterName,
          'Consumer Group': spec.consumerGroup,
          Topic: ROUTE_EVENTS_TOPIC,
        };
        const max = new cloudwatch.Metric({
          namespace: 'AWS/Kafka',
          metricName: 'MaxOffsetLag',
          dimensionsMap: dims,
          statistic: 'Maximum',
          period: ONE_MINUTE,
          label: `${spec.consumerGroup} max lag`,
        });
        const sum = new cloudwatch.Metric({
          namespace: 'AWS/Kafka',
          metricName: 'SumOffsetLag',
          dimensionsMap: dims,
          statistic: 'Maximum',
          period: ONE_MINUTE,
          label: `${spec.consumerGroup} total lag`,
        });
        lagMetrics.push({ max, sum, group: spec.consumerGroup });
        alarm(
          `ConsumerLag-${fnId}`,
          max,
          thresholds.consumerMaxOffsetLag,
          `${spec.consumerGroup} more than ${thresholds.consumerMaxOffsetLag} records behind on a partition`,
          { evaluationPeriods: 5, datapointsToAlarm: 5 },
        );
      }
    }
    const failureDepth = stateful.failureQueue.metricApproximateNumberOfMessagesVisible({
      statistic: 'Maximum',
      period: ONE_MINUTE,
    });
    alarm(
      'FailureQueueNotEmpty',
      failureDepth,
      0,
      'Records reached the failure destination: inspect and redrive',
      {
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
      },
    );

    // Function health, for every function the stateless stack created.
    const functions = Object.entries(stateless.functions).flatMap(([fnId, fn]) => (fn ? [{ fnId, fn }] : []));
    const errors = functions.map(({ fnId, fn }) => fn.fn.metricErrors({ label: fnId, period: ONE_MINUTE }));
    const throttles = functions.map(({ fnId, fn }) =>
      fn.fn.metricThrottles({ label: fnId, period: ONE_MINUTE }),
    );
    for (const { fnId, fn } of functions) {
      alarm(
        `Errors-${fnId}`,
        fn.fn.metricErrors({ statistic: 'Sum', period: FIVE_MINUTES }),
        thresholds.functionErrorsPer5Min,
        `${fnId}: more than ${thresholds.functionErrorsPer5Min} failed invocations in 5 minutes`,
        { evaluationPeriods: 1, datapointsToAlarm: 1 },
      );
      alarm(
        `Throttles-${fnId}`,
        fn.fn.metricThrottles({ statistic: 'Sum', period: FIVE_MINUTES }),
        thresholds.functionThrottlesPer5Min,
        `${fnId}: more than ${thresholds.functionThrottlesPer5Min} throttled invocations in 5 minutes (reserved concurrency exhausted)`,
        { evaluationPeriods: 1, datapointsToAlarm: 1 },
      );
    }

    const storeWidgets = this.storeAlarms(props, alarm);

    // WAF: requests the web ACL blocked (all rules), per the ACL's region.
    const webAclName = stateless.api.webAclName;
    const wafBlocked = webAclName
      ? awsMetric(
          'AWS/WAFV2',
          'BlockedRequests',
          { WebACL: webAclName, Region: Aws.REGION, Rule: 'ALL' },
          'Sum',
          FIVE_MINUTES,
          'WAF blocked',
        )
      : undefined;
    if (wafBlocked) {
      alarm(
        'WafBlocked',
        wafBlocked,
        thresholds.wafBlockedPer5Min,
        `The web ACL blocked more than ${thresholds.wafBlockedPer5Min} requests in 5 minutes: a flood, or a rule refusing real callers (aws-waf-logs-${webAclName})`,
        { evaluationPeriods: 1, datapointsToAlarm: 1 },
      );
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: prefix,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Resolve latency (ms)', left: [p50, p99], width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'Resolve cache outcomes',
        left: Object.values(RESOLVE_OUTCOME_METRIC).map((name) => appMetric(name, 'Sum')),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Cache hit ratio (%)',
        left: [cacheHitRatio],
        leftYAxis: { min: 0, max: 100 },
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API 4xx / 5xx, requests, p99 latency (ms)',
        left: [api4xx, api5xx, apiCount],
        right: [apiP99],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Writes',
        left: [
          appMetric(METRIC.writeRequests, 'Sum'),
          appMetric(METRIC.writeSuccess, 'Sum'),
          appMetric(METRIC.writeFailure, 'Sum'),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Outbox',
        left: [outboxBacklog],
        right: [outboxAge],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Consumer lag (MaxOffsetLag / SumOffsetLag)',
        left: lagMetrics.map((m) => m.max),
        right: lagMetrics.map((m) => m.sum),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Event source lag (OffsetLag) / failure destination depth',
        left: esmLag,
        right: [failureDepth],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Function errors / throttles',
        left: errors,
        right: throttles,
        width: 8,
      }),
    );
    // Issue 6: API tokens and per-tenant rate limits (authorizer refusals by reason; 429s by bucket).
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Rate limits (429 by bucket) and limiter store errors',
        left: METRIC_OF.rateLimited.names.map((name) => appMetric(name, 'Sum')),
        right: [appMetric(METRIC.rateLimiterErrors, 'Sum')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'API tokens refused by the authorizer / database logins retried after a secret re-read',
        left: [appMetric(METRIC.authRejected, 'Sum')],
        // Issue 11.3: a rotation moved the secret under a container's cached credentials (one per container).
        right: [appMetric(METRIC.databaseCredentialsRefreshed, 'Sum')],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      ...storeWidgets,
      ...(wafBlocked
        ? [new cloudwatch.GraphWidget({ title: 'WAF blocked requests', left: [wafBlocked], width: 6 })]
        : []),
    );
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24, height: 6 }),
    );

    this.alarms = alarms;
  }

  /**
   * The stores' own health, from their AWS metrics: RDS (CPU, free storage, connections), each Valkey node
   * (memory, evictions), each MSK broker's data disk, DocumentDB (CPU, freeable memory). Names are the
   * stores' fixed identifiers where they have one, so the alarms need no cross-stack export.
   */
  private storeAlarms(
    { stage, stateful }: ObservabilityStackProps,
    alarm: (
      id: string,
      metric: cloudwatch.Metric,
      threshold: number,
      description: string,
      options?: Partial<cloudwatch.CreateAlarmOptions>,
    ) => cloudwatch.Alarm,
  ): cloudwatch.IWidget[] {
    const stores = stateful.stores;
    if (!stores) return [];
    const t = stage.alarms;
    const below = { comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD };

    const db = { DBInstanceIdentifier: stores.databaseInstanceIdentifier };
    const dbCpu = awsMetric('AWS/RDS', 'CPUUtilization', db, 'Average', FIVE_MINUTES, 'RDS CPU %');
    const dbStorage = awsMetric(
      'AWS/RDS',
      'FreeStorageSpace',
      db,
      'Minimum',
      FIVE_MINUTES,
      'RDS free storage',
    );
    const dbConnections = awsMetric(
      'AWS/RDS',
      'DatabaseConnections',
      db,
      'Maximum',
      ONE_MINUTE,
      'RDS connections',
    );
    alarm('DatabaseCpu', dbCpu, t.databaseCpuPercent, `PostgreSQL CPU above ${t.databaseCpuPercent}%`);
    alarm(
      'DatabaseFreeStorage',
      dbStorage,
      t.databaseFreeStorageMinGiB * GIB,
      `PostgreSQL free storage below ${t.databaseFreeStorageMinGiB} GiB (autoscaling stops at the maximum)`,
      below,
    );
    alarm(
      'DatabaseConnections',
      dbConnections,
      t.databaseConnections,
      `More than ${t.databaseConnections} PostgreSQL connections: RDS Proxy near the instance's max_connections`,
    );

    // Cluster mode disabled: the members of a replication group are <group id>-001, -002, …
    const cacheMemory: cloudwatch.Metric[] = [];
    const cacheEvictions: cloudwatch.Metric[] = [];
    for (let node = 1; node <= 1 + stage.cache.replicas; node++) {
      const member = `${stores.cache.replicationGroup.ref}-${String(node).padStart(3, '0')}`;
      const dims = { CacheClusterId: member };
      const memory = awsMetric(
        'AWS/ElastiCache',
        'DatabaseMemoryUsagePercentage',
        dims,
        'Maximum',
        ONE_MINUTE,
        `node ${node} memory %`,
      );
      const evictions = awsMetric(
        'AWS/ElastiCache',
        'Evictions',
        dims,
        'Sum',
        FIVE_MINUTES,
        `node ${node} evictions`,
      );
      cacheMemory.push(memory);
      cacheEvictions.push(evictions);
      alarm(
        `CacheMemory-${node}`,
        memory,
        t.cacheMemoryPercent,
        `Valkey node ${node} memory above ${t.cacheMemoryPercent}%`,
      );
      alarm(
        `CacheEvictions-${node}`,
        evictions,
        t.cacheEvictionsPer5Min,
        `Valkey node ${node} evicted more than ${t.cacheEvictionsPer5Min} keys in 5 minutes: the cache is too small`,
        { evaluationPeriods: 1, datapointsToAlarm: 1 },
      );
    }

    const kafkaDisk: cloudwatch.Metric[] = [];
    for (let broker = 1; broker <= stage.kafka.brokers; broker++) {
      const disk = awsMetric(
        'AWS/Kafka',
        'KafkaDataLogsDiskUsed',
        { 'Cluster Name': stores.kafka.clusterName, 'Broker ID': String(broker) },
        'Maximum',
        FIVE_MINUTES,
        `broker ${broker} disk %`,
      );
      kafkaDisk.push(disk);
      alarm(
        `KafkaDisk-${broker}`,
        disk,
        t.kafkaDiskUsedPercent,
        `MSK broker ${broker} data disk above ${t.kafkaDiskUsedPercent}%`,
      );
    }

    const docdb = { DBClusterIdentifier: stores.auditStoreClusterName };
    const auditCpu = awsMetric(
      'AWS/DocDB',
      'CPUUtilization',
      docdb,
      'Maximum',
      FIVE_MINUTES,
      'DocumentDB CPU %',
    );
    const auditMemory = awsMetric(
      'AWS/DocDB',
      'FreeableMemory',
      docdb,
      'Minimum',
      FIVE_MINUTES,
      'DocumentDB freeable memory',
    );
    alarm(
      'AuditStoreCpu',
      auditCpu,
      t.auditStoreCpuPercent,
      `DocumentDB CPU above ${t.auditStoreCpuPercent}%`,
    );
    alarm(
      'AuditStoreFreeMemory',
      auditMemory,
      t.auditStoreFreeMemoryMinMiB * MIB,
      `DocumentDB freeable memory below ${t.auditStoreFreeMemoryMinMiB} MiB`,
      below,
    );

    return [
      new cloudwatch.GraphWidget({
        title: 'PostgreSQL CPU % / connections',
        left: [dbCpu],
        right: [dbConnections],
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Valkey memory % / evictions',
        left: cacheMemory,
        right: cacheEvictions,
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'PostgreSQL free storage / DocumentDB freeable memory (bytes)',
        left: [dbStorage],
        right: [auditMemory],
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'MSK broker disk %, DocumentDB CPU %',
        left: [...kafkaDisk, auditCpu],
        width: 6,
      }),
    ];
  }
}
