import { describe, expect, it } from 'vitest';
import {
  authorizerFunctions,
  consumerFunctions,
  deployFunctions,
  lambdaFunctions,
  operatorFunctions,
  scheduledFunctions,
} from '#functions/route-table';
import {
  type AppFunctionId,
  availabilityZoneCount,
  reservedConcurrencyOf,
  STAGE_NAMES,
  stageFromContext,
  stages,
  withDeployContext,
} from '#infra/config/stages';
import { RELAY_RUNS_AT_ONCE } from '#shared/config/relay-run';

const allFunctionIds = [
  ...Object.keys(lambdaFunctions),
  ...Object.keys(authorizerFunctions),
  ...Object.keys(operatorFunctions),
  ...Object.keys(consumerFunctions),
  ...Object.keys(scheduledFunctions),
  ...Object.keys(deployFunctions),
] as AppFunctionId[];

describe('stage configuration', () => {
  it('defines dev, prod, local (the local cloud) and localstack', () => {
    expect(Object.keys(stages).sort()).toEqual(['dev', 'local', 'localstack', 'prod']);
    for (const name of STAGE_NAMES) expect(stages[name].name).toBe(name);
  });

  it('protects data in prod and lets dev be torn down', () => {
    expect(stages.prod.protectData).toBe(true);
    expect(stages.dev.protectData).toBe(false);
  });

  it('keeps logs longer in prod than in dev', () => {
    expect(stages.prod.logRetentionDays).toBeGreaterThan(stages.dev.logRetentionDays);
  });

  it('runs the database, cache and audit store across AZs in prod and on one node in dev', () => {
    expect(stages.prod.database.multiAz).toBe(true);
    expect(stages.prod.cache.replicas).toBeGreaterThanOrEqual(1);
    expect(stages.prod.auditStore.instances).toBeGreaterThanOrEqual(2);
    expect(stages.dev.database.multiAz).toBe(false);
    expect(stages.dev.cache.replicas).toBe(0);
  });

  it('keeps database backups longer in prod than in dev', () => {
    expect(stages.prod.database.backupRetentionDays).toBeGreaterThanOrEqual(7);
    expect(stages.prod.database.backupRetentionDays).toBeGreaterThan(stages.dev.database.backupRetentionDays);
  });

  it.each(STAGE_NAMES)('sizes Kafka so every partition can be replicated (%s)', (name) => {
    const { kafka } = stages[name];

    // MSK spreads brokers evenly over the AZs; LocalStack's one compose broker has no AZ.
    if (stages[name].target === 'aws') expect(kafka.brokers % availabilityZoneCount(stages[name])).toBe(0);
    expect(kafka.replicationFactor).toBeLessThanOrEqual(kafka.brokers);
    // One replica fewer than the factor, so a broker can be lost; one broker leaves nothing to spare.
    expect(kafka.minInsyncReplicas).toBe(
      kafka.replicationFactor === 1 ? 1 : Math.min(kafka.minInsyncReplicas, kafka.replicationFactor - 1),
    );
    expect(kafka.partitions).toBeGreaterThanOrEqual(1);
  });

  it('runs prod on three AZs with a replica in each and acks=all surviving one loss; dev on two', () => {
    expect(stages.prod.network.placement?.availabilityZones).toHaveLength(3);
    expect(stages.prod.kafka).toMatchObject({ brokers: 3, replicationFactor: 3, minInsyncReplicas: 2 });
    expect(stages.dev.network.placement).toBeUndefined();
    expect(availabilityZoneCount(stages.dev)).toBe(2);
  });

  it('takes the alarm e-mail and the region from the deploy context, without a code edit', () => {
    const context = (values: Record<string, string>) => (key: string) => values[key];
    const prod = withDeployContext(
      stages.prod,
      context({ alarmEmail: 'ops@example.com', region: 'eu-west-1' }),
    );

    expect(prod.alarms.email).toBe('ops@example.com');
    expect(prod.network.placement).toEqual({
      region: 'eu-west-1',
      availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
    });
    // An env-agnostic stage stays env-agnostic; nothing given changes nothing.
    expect(withDeployContext(stages.dev, context({ region: 'eu-west-1' })).network.placement).toBeUndefined();
    expect(withDeployContext(stages.dev, context({}))).toEqual(stages.dev);
    expect(() => withDeployContext(stages.dev, context({ alarmEmail: 'ops' }))).toThrow(/not an e-mail/);
    expect(() => withDeployContext(stages.dev, context({ region: 'mars' }))).toThrow(/not a region/);
    expect(withDeployContext(stages.prod, context({ tracingSdk: 'true' })).tracingSdk).toBe(true);
    expect(() => withDeployContext(stages.dev, context({ tracingSdk: 'yes' }))).toThrow(
      /neither true nor false/,
    );
  });

  it.each(['dev', 'prod'] as const)('reserves concurrency for every function in %s', (name) => {
    for (const id of allFunctionIds) {
      expect(reservedConcurrencyOf(stages[name], id), id).toBeGreaterThanOrEqual(1);
    }
  });

  it.each(['dev', 'prod'] as const)(
    'admits every outbox relay run that can overlap in %s, no more',
    (name) => {
      expect(reservedConcurrencyOf(stages[name], 'outboxRelay')).toBe(RELAY_RUNS_AT_ONCE);
      expect(RELAY_RUNS_AT_ONCE).toBe(3);
    },
  );

  it('gives the read path the largest bulkhead in prod', () => {
    const resolve = reservedConcurrencyOf(stages.prod, 'resolveRoute') ?? 0;

    for (const id of allFunctionIds) {
      expect(reservedConcurrencyOf(stages.prod, id) ?? 0).toBeLessThanOrEqual(resolve);
    }
  });

  it('invokes the consumers as soon as records arrive: a batching window would delay every invalidation', () => {
    for (const name of STAGE_NAMES) {
      expect(stages[name].consumers.maxBatchingWindowSeconds, name).toBe(0);
    }
  });

  it('retries consumer batches a bounded number of times', () => {
    for (const name of STAGE_NAMES) {
      const { retryAttempts, maxRecordAgeSeconds } = stages[name].consumers;
      expect(retryAttempts).toBeGreaterThanOrEqual(0);
      expect(retryAttempts).toBeLessThanOrEqual(10);
      expect(maxRecordAgeSeconds).toBeGreaterThanOrEqual(60);
    }
  });

  it('gives the local cloud the AWS-shaped stack, sized for one machine', () => {
    const { local, dev } = stages;
    expect(local.target).toBe('aws');
    expect(local.localServices).toBeUndefined();
    expect(local.database).toEqual(dev.database);
    // Dev's cluster, but a topic the local services' one broker can hold.
    expect(local.kafka).toEqual({ ...dev.kafka, replicationFactor: 1, minInsyncReplicas: 1 });
    expect(local.api.throttleRatePerSecond).toBeGreaterThanOrEqual(1000);
  });

  it('points the localstack stage at the compose services and targets LocalStack', () => {
    const local = stages.localstack;

    expect(local.target).toBe('localstack');
    expect(local.localServices).toEqual({
      databaseUrl: 'postgres://postgres@postgres:5432/traffic_manager',
      redisUrl: 'redis://redis:6379',
      kafkaBrokers: 'kafka:29092',
      mongoUrl: 'mongodb://mongo:27017',
    });
    expect(local.api.waf).toBe(false);
    expect(stages.dev.localServices).toBeUndefined();
    expect(stages.prod.localServices).toBeUndefined();
  });

  it('picks dev when no stage is given and rejects unknown names', () => {
    expect(stageFromContext(undefined).name).toBe('dev');
    expect(stageFromContext('prod').name).toBe('prod');
    expect(() => stageFromContext('qa')).toThrow(/unknown stage "qa": use -c stage=dev\|prod\|local/);
  });
});
