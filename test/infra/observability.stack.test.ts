import { isDeepStrictEqual } from 'node:util';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { consumerFunctions } from '#functions/route-table';
import { buildTrafficManager, createApp } from '#infra/build';
import { stages, withDeployContext } from '#infra/config/stages';
import { SERVICE_NAME } from '#infra/constructs/app-function';
import {
  EMITTED_METRIC_NAMES,
  METRIC,
  METRIC_OF,
  METRICS_NAMESPACE,
  RESOLVE_OUTCOME_METRIC,
} from '#shared/observability/metric-names';
import { testOutdir } from '#test/support/cdk-outdir';
import { resourcesOf, synthStage } from './synth.ts';

const observability = (stage: 'dev' | 'prod' | 'localstack') => {
  const { stacks, template } = synthStage(stage);
  return template(stacks.observability);
};

/** The parts of a synthesized template the metric walk reads (and the mutation tests edit). */
interface Dimension {
  Name: string;
  Value: unknown;
}
interface CfnMetric {
  Namespace: string;
  MetricName: string;
  Dimensions?: Dimension[];
}
interface AlarmProperties extends Partial<CfnMetric> {
  Metrics?: { Id: string; Expression?: string; MetricStat?: { Metric: CfnMetric } }[];
}
interface DashboardProperties {
  DashboardBody: string | { 'Fn::Join': [string, unknown[]] };
}
interface CfnTemplate {
  Resources?: Record<string, { Type: string; Properties?: object }>;
}
type DashboardRow = (string | { expression?: string })[];

/** A metric an alarm or a dashboard widget reads (a SEARCH names dimension keys only: their values are undefined). */
interface MetricRef {
  readonly where: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, unknown>;
}

const metricRef = (where: string, { Namespace, MetricName, Dimensions = [] }: CfnMetric): MetricRef => ({
  where,
  namespace: Namespace,
  metricName: MetricName,
  dimensions: Object.fromEntries(Dimensions.map(({ Name, Value }) => [Name, Value])),
});

/** Metrics a math expression reads by itself: SEARCH('{Namespace,key…} MetricName="…"', …). */
const searchedMetrics = (where: string, expression: string): MetricRef[] =>
  [...expression.matchAll(/\{"?([^,}"]+)"?((?:,[^}]*)?)\}([^']*)/g)].flatMap(
    ([, namespace = '', keys = '', rest = '']) =>
      [...rest.matchAll(/MetricName\s*=\s*"?([\w.-]+)"?/g)].map(([, metricName = '']) => ({
        where: `${where} (SEARCH)`,
        namespace,
        metricName,
        dimensions: Object.fromEntries(
          keys
            .split(',')
            .map((k) => k.trim().replace(/^"|"$/g, ''))
            .filter(Boolean)
            .map((k) => [k, undefined]),
        ),
      })),
  );

/** The dashboard body with every CloudFormation token (region, imported names) replaced by a placeholder. */
const renderBody = ({ DashboardBody: body }: DashboardProperties): string => {
  if (typeof body === 'string') return body;
  const [separator, parts] = body['Fn::Join'];
  return parts.map((part) => (typeof part === 'string' ? part : '__TOKEN__')).join(separator);
};

/** The metrics of a dashboard row: ["Namespace", "Name", dimension, value, …, {options}] and/or an expression. */
const rowMetrics = (where: string, row: DashboardRow, previous: string[]): MetricRef[] => {
  const expression = row.find((x) => typeof x === 'object')?.expression;
  const searched = expression ? searchedMetrics(where, expression) : [];
  if (row.filter((x) => typeof x === 'string').length < 2) return searched;
  const [namespace = '', metricName = '', ...dims] = previous;
  const dimensions = Object.fromEntries(dims.flatMap((d, j) => (j % 2 === 0 ? [[d, dims[j + 1]]] : [])));
  return [{ where, namespace, metricName, dimensions }, ...searched];
};

/** Every metric the template's alarms (single metric, metric math, SEARCH) and dashboards read. */
const metricRefs = (template: CfnTemplate): MetricRef[] =>
  Object.entries(template.Resources ?? {}).flatMap(([id, { Type, Properties = {} }]): MetricRef[] => {
    if (Type === 'AWS::CloudWatch::Alarm') {
      const alarm = Properties as AlarmProperties;
      return [
        ...(alarm.MetricName ? [metricRef(id, alarm as CfnMetric)] : []),
        ...(alarm.Metrics ?? []).flatMap((q) => [
          ...(q.MetricStat ? [metricRef(`${id}.${q.Id}`, q.MetricStat.Metric)] : []),
          ...(q.Expression ? searchedMetrics(`${id}.${q.Id}`, q.Expression) : []),
        ]),
      ];
    }
    if (Type === 'AWS::CloudWatch::Dashboard') {
      const { widgets = [] } = JSON.parse(renderBody(Properties as DashboardProperties)) as {
        widgets?: { properties?: { title?: string; metrics?: DashboardRow[] } }[];
      };
      return widgets.flatMap(({ properties }, i) => {
        let previous: string[] = [];
        return (properties?.metrics ?? []).flatMap((row) => {
          // A "." repeats the previous row's field.
          previous = row
            .filter((x): x is string => typeof x === 'string')
            .map((f, j) => (f === '.' ? (previous[j] ?? f) : f));
          return rowMetrics(`${id} widget ${i} (${properties?.title})`, row, previous);
        });
      });
    }
    return [];
  });

/**
 * What in a template reads an application metric nothing emits: a name missing from EMITTED_METRIC_NAMES, a
 * dimension set other than the one EMF writes (service), or a custom namespace other than ours.
 */
const unemittedMetrics = (template: CfnTemplate): string[] =>
  metricRefs(template).flatMap(({ where, namespace, metricName, dimensions }) => {
    if (namespace.startsWith('AWS/')) return [];
    if (namespace !== METRICS_NAMESPACE) return [`${where}: ${namespace}/${metricName}: not our namespace`];
    const problems: string[] = [];
    if (!EMITTED_METRIC_NAMES.includes(metricName)) problems.push(`${where}: ${metricName} is never emitted`);
    const sameKeys = isDeepStrictEqual(Object.keys(dimensions).sort(), Object.keys(EMF_DIMENSIONS).sort());
    const sameValues = Object.entries(dimensions).every(
      ([key, value]) => value === undefined || value === EMF_DIMENSIONS[key as keyof typeof EMF_DIMENSIONS],
    );
    if (!sameKeys || !sameValues)
      problems.push(
        `${where}: ${metricName} with dimensions ${JSON.stringify(dimensions)}; EMF writes ${JSON.stringify(EMF_DIMENSIONS)}`,
      );
    return problems;
  });

/** The application metrics the dashboard charts. */
const CHARTED = [
  METRIC.resolveRequests,
  METRIC.resolveLatency,
  ...Object.values(RESOLVE_OUTCOME_METRIC),
  METRIC.writeRequests,
  METRIC.writeSuccess,
  METRIC.writeFailure,
  METRIC.outboxBacklog,
  METRIC.outboxOldestAge,
  ...METRIC_OF.rateLimited.names,
  METRIC.rateLimiterErrors,
  METRIC.authRejected,
  METRIC.databaseCredentialsRefreshed,
];

/** The one dimension createEmfMetrics writes (Powertools' service). */
const EMF_DIMENSIONS = { service: SERVICE_NAME };

const alarmOn = (metricName: string, extra: Record<string, unknown> = {}) =>
  Match.objectLike({ MetricName: metricName, ...extra });

describe('observability stack', () => {
  it('charts every application metric and the MSK lag of every consumer group', () => {
    const body = JSON.stringify(observability('dev').findResources('AWS::CloudWatch::Dashboard'));

    for (const name of CHARTED) expect(body, name).toContain(`\\"${name}\\"`);
    expect(body).toContain('\\"TrafficManager\\"');
    expect(body).toContain('\\"service\\",\\"traffic-manager\\"');
    expect(body).toContain('\\"p99\\"');
    expect(body).toContain('\\"p50\\"');
    for (const metric of [
      'MaxOffsetLag',
      'SumOffsetLag',
      '5XXError',
      '4XXError',
      'ApproximateNumberOfMessagesVisible',
    ]) {
      expect(body, metric).toContain(metric);
    }
    for (const { consumerGroup } of Object.values(consumerFunctions)) expect(body).toContain(consumerGroup);
  });

  it('alarms on resolve p99 latency and cache hit ratio', () => {
    const template = observability('dev');

    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: METRIC.resolveLatency,
      Namespace: 'TrafficManager',
      Dimensions: [{ Name: 'service', Value: 'traffic-manager' }],
      ExtendedStatistic: 'p99',
      Threshold: stages.dev.alarms.resolveP99Ms,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ComparisonOperator: 'LessThanThreshold',
      Threshold: stages.dev.alarms.cacheHitRatioMinPercent,
      Metrics: Match.arrayWith([Match.objectLike({ Expression: '100 * (hits + negativeHits) / requests' })]),
    });
  });

  it('alarms on API errors, write failures, outbox age and the failure queue', () => {
    const template = observability('dev');

    template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      alarmOn('5XXError', { Namespace: 'AWS/ApiGateway' }),
    );
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ MetricStat: Match.objectLike({ Metric: alarmOn('4XXError') }) }),
      ]),
    });
    template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      alarmOn(METRIC.writeFailure, { Statistic: 'Sum' }),
    );
    template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      alarmOn(METRIC.outboxOldestAge, { Threshold: stages.dev.alarms.outboxOldestAgeSeconds }),
    );
    template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      alarmOn('ApproximateNumberOfMessagesVisible', { Namespace: 'AWS/SQS', Threshold: 0 }),
    );
  });

  it('alarms on the offset lag of each consumer group', () => {
    const template = observability('dev');

    for (const { consumerGroup } of Object.values(consumerFunctions)) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Threshold: stages.dev.alarms.consumerMaxOffsetLag,
        Metrics: [
          Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: {
                Namespace: 'AWS/Kafka',
                MetricName: 'MaxOffsetLag',
                Dimensions: Match.arrayWith([{ Name: 'Consumer Group', Value: consumerGroup }]),
              },
              Stat: 'Maximum',
            }),
          }),
        ],
      });
    }
  });

  it('sends every alarm and its recovery to one topic that requires TLS', () => {
    const template = observability('dev');
    const [topicId] = resourcesOf(template, 'AWS::SNS::Topic').map(([id]) => id);

    template.allResourcesProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [{ Ref: topicId }],
      OKActions: [{ Ref: topicId }],
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  describe.each(['dev', 'prod'] as const)('%s: alarms that reach someone', (stage) => {
    const t = stages[stage].alarms;
    /** Each alarm's properties, a single-metric query (CDK's form for a labelled metric) flattened. */
    const alarms = () =>
      resourcesOf(observability(stage), 'AWS::CloudWatch::Alarm').map(([, a]): Record<string, unknown> => {
        const p = (a.Properties ?? {}) as Record<string, unknown> & AlarmProperties;
        const [only, ...rest] = p.Metrics ?? [];
        if (!only?.MetricStat || rest.length > 0) return p;
        const { Metric, Stat, Period } = only.MetricStat as {
          Metric: CfnMetric;
          Stat: string;
          Period: number;
        };
        return { ...p, ...Metric, Statistic: Stat, Period };
      });
    const onMetric = (namespace: string, metricName: string) =>
      alarms().filter((a) => a.Namespace === namespace && a.MetricName === metricName);
    const dimension = (a: Record<string, unknown>, name: string) =>
      (a.Dimensions as Dimension[] | undefined)?.find((d) => d.Name === name)?.Value;

    it('alarms on errors and throttles of every function, each with its own threshold per stage', () => {
      const { stacks } = synthStage(stage);
      const fnIds = Object.entries(stacks.stateless.functions).flatMap(([id, fn]) => (fn ? [id] : []));

      for (const [metric, threshold] of [
        ['Errors', t.functionErrorsPer5Min],
        ['Throttles', t.functionThrottlesPer5Min],
      ] as const) {
        const found = onMetric('AWS/Lambda', metric);
        expect(found, metric).toHaveLength(fnIds.length);
        for (const a of found)
          expect(a).toMatchObject({ Threshold: threshold, Statistic: 'Sum', Period: 300 });
      }
    });

    it('alarms on API Gateway p99 latency and 5xx', () => {
      expect(onMetric('AWS/ApiGateway', 'Latency')).toEqual([
        expect.objectContaining({ ExtendedStatistic: 'p99', Threshold: t.apiP99Ms }),
      ]);
      expect(onMetric('AWS/ApiGateway', '5XXError')).toHaveLength(1);
    });

    it('alarms on the offset lag of every consumer event source mapping (AWS/Lambda OffsetLag)', () => {
      const lag = onMetric('AWS/Lambda', 'OffsetLag');

      expect(lag).toHaveLength(Object.keys(consumerFunctions).length);
      for (const a of lag) {
        expect(a).toMatchObject({ Statistic: 'Maximum', Threshold: t.consumerMaxOffsetLag });
        expect(dimension(a, 'FunctionName')).toBeDefined();
      }
    });

    it('treats silence as failure only where silence means failure: the relay heartbeat and outbox age', () => {
      const breaching = alarms().filter((a) => a.TreatMissingData === 'breaching');

      expect(breaching.map((a) => a.MetricName).sort()).toEqual(['Invocations', METRIC.outboxOldestAge]);
      expect(breaching.find((a) => a.MetricName === 'Invocations')).toMatchObject({
        Namespace: 'AWS/Lambda',
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        Period: 300,
      });
      for (const a of alarms().filter((x) => x.TreatMissingData !== 'breaching'))
        expect(a.TreatMissingData).toBe('notBreaching');
    });

    it('alarms on the stores: RDS, every Valkey node, every MSK broker disk, DocumentDB', () => {
      const { kafka, cache } = stages[stage];
      const prefix = `traffic-manager-${stage}`;

      for (const [metric, threshold] of [
        ['CPUUtilization', t.databaseCpuPercent],
        ['FreeStorageSpace', t.databaseFreeStorageMinGiB * 1024 ** 3],
        ['DatabaseConnections', t.databaseConnections],
      ] as const) {
        const [a, ...more] = onMetric('AWS/RDS', metric);
        expect(more, metric).toEqual([]);
        expect(a, metric).toMatchObject({ Threshold: threshold });
        expect(dimension(a ?? {}, 'DBInstanceIdentifier')).toBe(`${prefix}-routes`);
      }
      expect(onMetric('AWS/RDS', 'FreeStorageSpace')[0]?.ComparisonOperator).toBe('LessThanThreshold');

      const nodes = 1 + cache.replicas;
      expect(onMetric('AWS/ElastiCache', 'DatabaseMemoryUsagePercentage')).toHaveLength(nodes);
      expect(onMetric('AWS/ElastiCache', 'Evictions')).toHaveLength(nodes);
      expect(
        onMetric('AWS/ElastiCache', 'Evictions').map((a) => JSON.stringify(dimension(a, 'CacheClusterId'))),
      ).toEqual(Array.from({ length: nodes }, (_, i) => expect.stringContaining(`-00${i + 1}`)));

      const disks = onMetric('AWS/Kafka', 'KafkaDataLogsDiskUsed');
      expect(disks.map((a) => dimension(a, 'Broker ID'))).toEqual(
        Array.from({ length: kafka.brokers }, (_, i) => String(i + 1)),
      );
      for (const a of disks) expect(a).toMatchObject({ Threshold: t.kafkaDiskUsedPercent });

      expect(onMetric('AWS/DocDB', 'CPUUtilization')[0]).toMatchObject({ Threshold: t.auditStoreCpuPercent });
      expect(onMetric('AWS/DocDB', 'FreeableMemory')[0]).toMatchObject({
        Threshold: t.auditStoreFreeMemoryMinMiB * 1024 ** 2,
        ComparisonOperator: 'LessThanThreshold',
      });
      expect(dimension(onMetric('AWS/DocDB', 'CPUUtilization')[0] ?? {}, 'DBClusterIdentifier')).toBe(
        `${prefix}-audit`,
      );
    });

    it('alarms on requests the WAF blocked, for this web ACL', () => {
      const [a, ...more] = onMetric('AWS/WAFV2', 'BlockedRequests');

      expect(more).toEqual([]);
      expect(a).toMatchObject({ Threshold: t.wafBlockedPer5Min, Statistic: 'Sum' });
      expect(dimension(a ?? {}, 'WebACL')).toBe(`traffic-manager-${stage}-api`);
      expect(dimension(a ?? {}, 'Rule')).toBe('ALL');
    });

    it('charts what it alarms on', () => {
      const body = JSON.stringify(observability(stage).findResources('AWS::CloudWatch::Dashboard'));

      for (const metric of [
        'Latency',
        'OffsetLag',
        'CPUUtilization',
        'FreeStorageSpace',
        'DatabaseConnections',
        'DatabaseMemoryUsagePercentage',
        'Evictions',
        'KafkaDataLogsDiskUsed',
        'FreeableMemory',
        'BlockedRequests',
      ])
        expect(body, metric).toContain(`\\"${metric}\\"`);
    });
  });

  it('subscribes the e-mail address given at deploy time (-c alarmEmail), and none without it', () => {
    // Template validation runs once per stage in cloudformation.test.ts; here it would only add time.
    const app = createApp({
      outdir: testOutdir(),
      builtinCloudFormationValidation: false,
      context: { 'aws:cdk:bundling-stacks': [] },
    });
    const stage = withDeployContext(stages.dev, (key) =>
      key === 'alarmEmail' ? 'oncall@example.com' : undefined,
    );
    const { observability: stack } = buildTrafficManager(app, stage);

    Template.fromStack(stack).hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    observability('dev').resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('has no MSK lag alarms on LocalStack, where there is no MSK', () => {
    const alarms = JSON.stringify(observability('localstack').findResources('AWS::CloudWatch::Alarm'));

    expect(alarms).not.toContain('MaxOffsetLag');
    expect(alarms).toContain('ResolveLatency');
  });
  it.each(['dev', 'prod'] as const)(
    '%s: every alarm and widget reads a metric the code emits, with its dimensions',
    (stage) => {
      const template = observability(stage).toJSON();
      const ours = metricRefs(template).filter(({ namespace }) => namespace === METRICS_NAMESPACE);

      expect(unemittedMetrics(template)).toEqual([]);
      // The walk sees the alarms (plain and math) and the dashboard, so an empty answer means something.
      expect(
        ours.map(({ where, metricName }) => `${where.replace(/[0-9A-F]{8}\b.*/, '')} ${metricName}`),
      ).toEqual(
        expect.arrayContaining([
          `OutboxBacklogAge ${METRIC.outboxOldestAge}`,
          `ResolveLatencyP99 ${METRIC.resolveLatency}`,
          `CacheHitRatioLow ${METRIC.resolveRequests}`,
          `Dashboard ${RESOLVE_OUTCOME_METRIC.miss}`,
        ]),
      );
    },
  );

  describe('the emitted-metric check fails on a template that reads', () => {
    /** The dev template with one edit, through the properties of the resource whose id starts so. */
    const mutated = (edit: (properties: (idPrefix: string) => object) => void): string[] => {
      const template = structuredClone(observability('dev').toJSON()) as CfnTemplate;
      const resources = Object.entries(template.Resources ?? {});
      edit((prefix) => resources.find(([id]) => id.startsWith(prefix))?.[1].Properties ?? {});
      return unemittedMetrics(template);
    };
    const alarm = (properties: (idPrefix: string) => object, id: string) => properties(id) as AlarmProperties;

    it('an alarm metric renamed (the OutboxOldestAgeSeconds defect)', () => {
      expect(
        mutated((p) => {
          alarm(p, 'OutboxBacklogAge').MetricName = 'OutboxOldestAgeSeconds';
        }),
      ).toEqual([expect.stringMatching(/^OutboxBacklogAge\w*: OutboxOldestAgeSeconds is never emitted$/)]);
    });

    it('a metric of a math-expression alarm renamed', () => {
      expect(
        mutated((p) => {
          for (const q of alarm(p, 'CacheHitRatioLow').Metrics ?? [])
            if (q.Id === 'requests' && q.MetricStat) q.MetricStat.Metric.MetricName = 'ResolveRequest';
        }),
      ).toEqual([expect.stringContaining('.requests: ResolveRequest is never emitted')]);
    });

    it('an alarm dimension EMF never writes', () => {
      expect(
        mutated((p) => {
          alarm(p, 'ResolveLatencyP99').Dimensions?.push({ Name: 'function_name', Value: 'resolve' });
        }),
      ).toEqual([expect.stringContaining('ResolveLatency with dimensions')]);
    });

    it('a dashboard widget metric renamed', () => {
      expect(
        mutated((p) => {
          const dashboard = p('Dashboard') as DashboardProperties;
          if (typeof dashboard.DashboardBody === 'string') throw new Error('expected a joined body');
          const [separator, parts] = dashboard.DashboardBody['Fn::Join'];
          const renamed = parts.map((s) =>
            typeof s === 'string' ? s.replace('"ResolveCacheMiss"', '"CacheMiss"') : s,
          );
          dashboard.DashboardBody = { 'Fn::Join': [separator, renamed] };
        }),
      ).toEqual([expect.stringContaining('(Resolve cache outcomes): CacheMiss is never emitted')]);
    });

    it('a search expression for a name nothing emits', () => {
      expect(
        mutated((p) => {
          const [expression] = alarm(p, 'CacheHitRatioLow').Metrics ?? [];
          if (expression)
            expression.Expression = `SEARCH('{${METRICS_NAMESPACE},service} MetricName="ResolveHits"', 'Sum', 300)`;
        }),
      ).toEqual([expect.stringContaining('(SEARCH): ResolveHits is never emitted')]);
    });
  });
});
