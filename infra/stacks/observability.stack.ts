import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
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

/** The dashboard and the alarms; alarms notify one SNS topic (optionally an e-mail address). */
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
      `Oldest unpublished outbox row older than ${thresholds.outboxOldestAgeSeconds}s: relay or MSK stuck`,
    );

    // Consumers: MSK consumer-group lag, and what landed in the failure queue.
    const kafka = stateful.stores?.kafka;
    const lagMetrics: { max: cloudwatch.Metric; sum: cloudwatch.Metric; group: string }[] = [];
    if (kafka) {
      for (const [fnId, spec] of Object.entries(consumerFunctions)) {
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
        title: 'API 4xx / 5xx',
        left: [api4xx, api5xx],
        right: [apiCount],
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
      new cloudwatch.GraphWidget({ title: 'Failure destination depth', left: [failureDepth], width: 8 }),
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
        title: 'API tokens refused by the authorizer',
        left: [appMetric(METRIC.authRejected, 'Sum')],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24, height: 4 }),
    );

    this.alarms = alarms;
  }
}
