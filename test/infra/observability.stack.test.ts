import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { consumerFunctions } from '#functions/route-table';
import { stages } from '#infra/config/stages';
import { resourcesOf, synthStage } from './synth.ts';

const observability = (stage: 'dev' | 'prod' | 'local') => {
  const { stacks, template } = synthStage(stage);
  return template(stacks.observability);
};

/** The EMF metric names the functions emit (namespace TrafficManager, dimension service). */
const APP_METRICS = [
  'ResolveRequests',
  'ResolveCacheHit',
  'ResolveCacheMiss',
  'ResolveNegativeCacheHit',
  'ResolveCacheBypass',
  'ResolveFailure',
  'ResolveLatency',
  'WriteRequests',
  'WriteSuccess',
  'WriteFailure',
  'OutboxBacklog',
  'OutboxOldestAgeSeconds',
  'RateLimited_tenant',
  'RateLimited_token',
  'RateLimiterErrors',
  'AuthRejected_mismatch',
  'AuthRejected_revoked',
];

const alarmOn = (metricName: string, extra: Record<string, unknown> = {}) =>
  Match.objectLike({ MetricName: metricName, ...extra });

describe('observability stack', () => {
  it('charts every application metric and the MSK lag of every consumer group', () => {
    const body = JSON.stringify(observability('dev').findResources('AWS::CloudWatch::Dashboard'));

    for (const name of APP_METRICS) expect(body, name).toContain(`\\"${name}\\"`);
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
      MetricName: 'ResolveLatency',
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
    template.hasResourceProperties('AWS::CloudWatch::Alarm', alarmOn('WriteFailure', { Statistic: 'Sum' }));
    template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      alarmOn('OutboxOldestAgeSeconds', { Threshold: stages.dev.alarms.outboxOldestAgeSeconds }),
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

  it('has no MSK lag alarms on LocalStack, where there is no MSK', () => {
    const alarms = JSON.stringify(observability('local').findResources('AWS::CloudWatch::Alarm'));

    expect(alarms).not.toContain('MaxOffsetLag');
    expect(alarms).toContain('ResolveLatency');
  });
});
