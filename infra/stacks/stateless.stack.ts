import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Annotations, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { functionManifest } from '#functions/function-manifest';
import { OPENAPI_PACKAGE_FILE, OPENAPI_PATH } from '#functions/openapi/paths';
import {
  authorizerFunctions,
  consumerFunctions,
  deployFunctions,
  type FunctionId,
  httpRoutes,
  type LambdaFunctionSpec,
  lambdaFunctions,
  operatorFunctions,
  scheduledFunctions,
} from '#functions/route-table';
import type { AppFunctionId, StageConfig } from '#infra/config/stages';
import { AppFunction, type BundleFile } from '#infra/constructs/app-function';
import { DeployAction, type DeployActionProps } from '#infra/constructs/deploy-action';
import { MskBootstrapBrokers } from '#infra/constructs/msk-bootstrap-brokers';
import { RestApi } from '#infra/constructs/rest-api';
import { SafeDeploys } from '#infra/constructs/safe-deploys';
import { CA_BUNDLE_SOURCE, caBundlePresent, MIGRATIONS_DIR, migrationsDir } from '#infra/paths';
import { DATABASE_NAME, type StatefulStack } from '#infra/stacks/stateful.stack';
import { AUDIT_INDEXES } from '#shared/adapters/mongo/audit-schema';
import type { Bindings } from '#shared/config/bindings';
import { RELAY_RUN } from '#shared/config/relay-run';

/** The topic a function produces to, administers or probes, as its manifest entry declares it. */
const kafkaTopicOf = (b: Bindings): string | undefined =>
  (b.kafkaProducer ?? b.kafkaAdmin ?? b.kafkaProbe)?.topic;

const topicOf = (b: Bindings): string => {
  const topic = kafkaTopicOf(b);
  if (!topic) throw new Error('the manifest entry declares no Kafka topic');
  return topic;
};

/** Sizing that differs by kind of function; everything else is the AppFunction default. */
const FUNCTION_SIZING: Partial<Record<AppFunctionId, { timeout: Duration; memorySize?: number }>> = {
  // More memory is more CPU: the latency-critical read path.
  resolveRoute: { timeout: Duration.seconds(10), memorySize: 1024 },
  cacheInvalidation: { timeout: Duration.seconds(60) },
  cacheWarming: { timeout: Duration.seconds(60) },
  audit: { timeout: Duration.seconds(60) },
  outboxRelay: { timeout: Duration.millis(RELAY_RUN.timeoutMs) },
  migrate: { timeout: Duration.minutes(5) },
  createTopic: { timeout: Duration.minutes(2) },
};

type DeployFunctionId = keyof typeof deployFunctions;
type ScheduledFunctionId = keyof typeof scheduledFunctions;

/** The custom resource each deploy function backs; its properties reach the handler as ResourceProperties. */
const DEPLOY_ACTIONS: Readonly<
  Record<
    DeployFunctionId,
    {
      readonly id: string;
      readonly resource: (
        stage: StageConfig,
        stateful: StatefulStack,
      ) => Pick<DeployActionProps, 'resourceType' | 'properties'>;
    }
  >
> = {
  migrate: {
    id: 'Migrations',
    resource: (_stage, stateful) => ({
      resourceType: 'Custom::Migrations',
      // The hash re-runs the migrations when migrations/ changes; the folder is copied next to the bundle.
      // The application user's secret: the migrate function creates that user (member of the app role).
      properties: {
        migrationsHash: migrationsHash(),
        migrationsDir: MIGRATIONS_DIR,
        ...(stateful.stores ? { appUserSecretArn: stateful.stores.databaseAppSecret.secretArn } : {}),
      },
    }),
  },
  auditStoreSetup: {
    id: 'AuditStoreSetup',
    resource: (stage, stateful) => ({
      resourceType: 'Custom::AuditStoreSetup',
      // The index list's hash re-runs the step when an index is added; `users` says whether the store has
      // users to manage (never on a managed DocumentDB stage without them: the stage config is tested).
      properties: {
        users: stage.auditStore.users,
        indexesHash: createHash('sha256').update(JSON.stringify(AUDIT_INDEXES)).digest('hex').slice(0, 16),
        ...(stateful.stores && stage.auditStore.users === 'managed'
          ? { appUserSecretArn: stateful.stores.auditStoreAppSecret.secretArn }
          : {}),
      },
    }),
  },
  createTopic: {
    id: 'RouteEventsTopic',
    resource: (stage) => ({
      resourceType: 'Custom::KafkaTopic',
      properties: {
        topic: topicOf(functionManifest.createTopic),
        numPartitions: stage.kafka.partitions,
        replicationFactor: stage.kafka.replicationFactor,
      },
    }),
  },
};

const SCHEDULES: Readonly<Record<ScheduledFunctionId, events.Schedule>> = {
  outboxRelay: events.Schedule.rate(Duration.millis(RELAY_RUN.everyMs)),
};

export interface StatelessStackProps extends StackProps {
  readonly stage: StageConfig;
  readonly stateful: StatefulStack;
  /** Absent on the LocalStack target. */
  readonly vpc?: ec2.IVpc;
}

/** Fingerprint of migrations/: a new or changed file re-runs the migrate custom resource on deploy. */
export const migrationsHash = (): string => {
  const dir = migrationsDir();
  const hash = createHash('sha256');
  for (const name of readdirSync(dir).sort()) {
    hash
      .update(name)
      .update('\0')
      .update(readFileSync(join(dir, name)))
      .update('\0');
  }
  return hash.digest('hex').slice(0, 32);
};

/**
 * Code and wiring, redeployed on every change: one Lambda per route-table entry, the REST API,
 * the MSK consumers, the scheduled outbox relay and the deploy-time custom resources.
 */
export class StatelessStack extends Stack {
  readonly functions: Readonly<Record<AppFunctionId, AppFunction | undefined>>;
  readonly api: RestApi;
  readonly consumerMappings: readonly lambda.EventSourceMapping[];
  /** CodeDeploy for the live aliases: deployment groups and their rollback alarms. */
  readonly deploys: SafeDeploys;
  /** The MSK bootstrap brokers, resolved at deploy time for the functions that open a Kafka client. */
  private kafkaBrokers?: MskBootstrapBrokers;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { stage, stateful, vpc } = props;
    const prefix = `traffic-manager-${stage.name}`;
    const auditStoreUsers = (Object.keys(functionManifest) as AppFunctionId[]).filter(
      (fnId) => functionManifest[fnId].auditStore,
    );
    if (stage.target === 'aws' && !caBundlePresent()) {
      Annotations.of(this).addWarningV2(
        'traffic-manager:ca-bundle-missing',
        `${CA_BUNDLE_SOURCE} is missing: ${auditStoreUsers.join(', ')} cannot verify DocumentDB's TLS certificate`,
      );
    }

    this.deploys = new SafeDeploys(this, 'SafeDeploys', { stage, name: prefix });
    /** A p99 duration (ms) past which a shift is rolled back: the stage's API targets, else 80 % of the timeout. */
    const rollbackP99Ms = (fn: AppFunction, fnId: AppFunctionId): number => {
      if (fnId === 'resolveRoute') return stage.alarms.resolveP99Ms;
      // The relay polls until its deadline by design: only a run near its timeout (a stuck round) is slow.
      if (fnId === 'outboxRelay') return Math.round(RELAY_RUN.timeoutMs * 0.95);
      if (fnId in lambdaFunctions || fnId === 'authorizer') return stage.alarms.apiP99Ms;
      return Math.round((fn.fn.timeout?.toMilliseconds() ?? 3000) * 0.8);
    };

    const make = (fnId: AppFunctionId, spec: LambdaFunctionSpec): AppFunction => {
      const bindings = functionManifest[fnId];
      const bundleFiles: BundleFile[] = [];
      if (fnId === 'migrate') bundleFiles.push({ from: MIGRATIONS_DIR, to: MIGRATIONS_DIR });
      // Read on the first GET /openapi.json (functions/health/openapi-document.ts), not parsed at every cold start.
      if (fnId === 'health') bundleFiles.push({ from: OPENAPI_PATH, to: OPENAPI_PACKAGE_FILE });
      if (stage.target === 'aws' && bindings.auditStore && caBundlePresent()) {
        bundleFiles.push({ from: CA_BUNDLE_SOURCE, to: 'global-bundle.pem' });
      }
      const fn = new AppFunction(this, fnId, {
        stage,
        functionId: fnId,
        spec,
        vpc,
        bundleFiles,
        ...FUNCTION_SIZING[fnId],
      });
      this.wire(fn, bindings, props);
      return fn;
    };

    // HTTP functions, the authorizer in front of them, and the API: each behind its live alias.
    const httpFunctions = Object.fromEntries(
      Object.entries(lambdaFunctions).map(([fnId, spec]) => {
        const fn = make(fnId as FunctionId, spec);
        fn.publishLive();
        return [fnId, fn];
      }),
    ) as Record<FunctionId, AppFunction>;
    const authorizerFn = make('authorizer', authorizerFunctions.authorizer);
    const authorizer = new apigw.RequestAuthorizer(this, 'Authorizer', {
      authorizerName: `${prefix}-api-tokens`,
      handler: authorizerFn.publishLive(),
      identitySources: [apigw.IdentitySource.header('Authorization')],
      // Per token: also the longest a revoked token keeps working (docs/security.md).
      resultsCacheTtl: Duration.seconds(stage.api.authorizerCacheTtlSeconds),
    });
    this.api = new RestApi(this, 'Api', {
      stage,
      apiName: prefix,
      routes: httpRoutes,
      functions: httpFunctions,
      authorizer,
    });
    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Traffic Manager REST API base URL' });
    // A shift of an API function (or the authorizer) also stops on the API's own 5xx count.
    const api5xx =
      stage.deploys.strategy === 'none'
        ? undefined
        : this.api.api.deploymentStage
            .metricServerError({ statistic: 'Sum', period: Duration.minutes(1) })
            .createAlarm(this.deploys, 'Api5xx', {
              alarmName: `${prefix}-rollback-api-5xx`,
              alarmDescription: `More than ${stage.alarms.api5xxPerMinute} 5xx a minute (rolls an API function's deploy back)`,
              threshold: stage.alarms.api5xxPerMinute,
              evaluationPeriods: 1,
              comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
              treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
            });
    for (const [fnId, fn] of [...Object.entries(httpFunctions), ['authorizer', authorizerFn]] as [
      AppFunctionId,
      AppFunction,
    ][]) {
      this.deploys.guard(fnId, fn.publishLive(), {
        durationP99Ms: rollbackP99Ms(fn, fnId),
        alarms: api5xx ? [api5xx] : [],
      });
    }

    // Operator functions: invoked by hand (`aws lambda invoke`), e.g. to create the first admin token.
    const operatorFns = Object.fromEntries(
      Object.entries(operatorFunctions).map(([fnId, spec]) => [fnId, make(fnId as AppFunctionId, spec)]),
    ) as Record<keyof typeof operatorFunctions, AppFunction>;
    new CfnOutput(this, 'BootstrapAdminTokenFunction', {
      value: operatorFns.bootstrapAdminToken.functionName,
      description:
        'aws lambda invoke --function-name <this> out.json: the first admin API token (docs/security.md)',
    });

    // Deploy-time custom resources, one per `deployFunctions` entry (independent of each other).
    const deployActions = {} as Record<DeployFunctionId, DeployAction>;
    const deployFns = {} as Record<DeployFunctionId, AppFunction>;
    for (const [fnId, spec] of Object.entries(deployFunctions) as [DeployFunctionId, LambdaFunctionSpec][]) {
      deployFns[fnId] = make(fnId, spec);
      deployActions[fnId] = new DeployAction(this, DEPLOY_ACTIONS[fnId].id, {
        stage,
        handler: deployFns[fnId],
        ...DEPLOY_ACTIONS[fnId].resource(stage, stateful),
      });
    }

    // Scheduled functions (the outbox relay), one EventBridge rule each.
    const scheduled = {} as Record<ScheduledFunctionId, AppFunction>;
    for (const [fnId, spec] of Object.entries(scheduledFunctions) as [
      ScheduledFunctionId,
      LambdaFunctionSpec,
    ][]) {
      const fn = make(fnId, spec);
      scheduled[fnId] = fn;
      fn.addEnvironment({
        RELAY_MAX_RUN_MS: String(RELAY_RUN.runMs),
        RELAY_POLL_INTERVAL_MS: String(stage.events.relayPollIntervalMs),
      });
      // A missed tick is covered by the next one: no retries that could overlap it, in the rule's delivery
      // and in Lambda's own asynchronous invocation (which would otherwise retry a failed run twice).
      const alias = fn.publishLive({ retryAttempts: 0, maxEventAge: Duration.minutes(1) });
      this.deploys.guard(fnId, alias, { durationP99Ms: rollbackP99Ms(fn, fnId) });
      new events.Rule(this, `${fnId}Schedule`, {
        description: spec.description,
        schedule: SCHEDULES[fnId],
        targets: [
          new targets.LambdaFunction(alias, {
            retryAttempts: 0,
            maxEventAge: Duration.minutes(1),
          }),
        ],
      });
    }

    // MSK consumers, one consumer group each. Community LocalStack has no Kafka event source
    // mappings: locally the runner (`npm start`) polls the topic for them instead.
    const consumers: Partial<Record<AppFunctionId, AppFunction>> = {};
    const mappings: lambda.EventSourceMapping[] = [];
    const kafka = stateful.stores?.kafka;
    if (kafka) {
      for (const [fnId, spec] of Object.entries(consumerFunctions) as [
        keyof typeof consumerFunctions,
        LambdaFunctionSpec,
      ][]) {
        const fn = make(fnId, spec);
        consumers[fnId] = fn;
        this.deploys.guard(fnId, fn.publishLive(), { durationP99Ms: rollbackP99Ms(fn, fnId) });
        const use = functionManifest[fnId].kafkaConsumer;
        if (!use)
          throw new Error(`${fnId} is an MSK consumer but its manifest entry declares no kafkaConsumer`);
        const mapping = fn.consumeKafka(kafka, {
          ...use,
          failureQueue: stateful.failureQueue,
          pollerGroupName: `${prefix}-consumers`,
        });
        // Lambda validates the topic when the mapping starts polling.
        mapping.node.addDependency(deployActions.createTopic.resource);
        mappings.push(mapping);
      }
    }
    this.consumerMappings = mappings;

    this.functions = {
      ...httpFunctions,
      authorizer: authorizerFn,
      ...operatorFns,
      ...deployFns,
      ...scheduled,
      ...consumers,
    } as Record<AppFunctionId, AppFunction | undefined>;
  }

  /**
   * Grants, network and environment for each declared binding (functions/function-manifest.ts): managed
   * stores on AWS, compose URLs on LocalStack. The MSK consumer binding is the event source mapping,
   * made with its consumer group where the consumers are created.
   */
  private wire(fn: AppFunction, b: Bindings, props: StatelessStackProps): void {
    const { stage, stateful } = props;
    if (b.idempotencyTable) fn.bindIdempotencyTable(stateful.idempotencyTable);
    if (b.failureQueue) fn.bindFailureQueue(stateful.failureQueue);
    if (b.tokenHashKey) fn.bindTokenHashKey(stateful.tokenHashKey);
    const kafkaTopic = kafkaTopicOf(b);

    const stores = stateful.stores;
    if (!stores) {
      const local = stage.localServices;
      if (!local) throw new Error(`stage ${stage.name} has neither managed stores nor localServices`);
      fn.useLocalServices({
        databaseUrl: b.database ? local.databaseUrl : undefined,
        redisUrl: b.cache ? local.redisUrl : undefined,
        ...(kafkaTopic ? { kafkaBrokers: local.kafkaBrokers, kafkaTopic } : {}),
        mongoUrl: b.auditStore ? local.mongoUrl : undefined,
      });
      return;
    }
    if (b.database) {
      // Least privilege: only the migrations run as the master; every other function as the app user.
      if (fn.functionId === 'migrate') {
        fn.bindDatabase(stores.databaseProxy, stores.databaseSecret, { name: DATABASE_NAME });
        stores.databaseAppSecret.grantRead(fn.role);
      } else {
        fn.bindDatabase(stores.databaseProxy, stores.databaseAppSecret, { name: DATABASE_NAME });
      }
    }
    if (b.cache) fn.bindRedis(stores.cache, stores.cache.authSecret);
    if (kafkaTopic) {
      this.kafkaBrokers ??= new MskBootstrapBrokers(this, 'KafkaBootstrapBrokers', {
        stage,
        cluster: stores.kafka,
      });
      const brokers = this.kafkaBrokers.iamBrokers;
      if (b.kafkaProducer) fn.bindKafka(stores.kafka, brokers, { produce: b.kafkaProducer });
      if (b.kafkaAdmin) fn.bindKafka(stores.kafka, brokers, { admin: b.kafkaAdmin });
      if (b.kafkaProbe) fn.bindKafka(stores.kafka, brokers, { probe: b.kafkaProbe });
    }
    if (b.auditStore) {
      // Least privilege: only the setup step connects as the master; the audit functions as their own user.
      if (fn.functionId === 'auditStoreSetup') {
        fn.bindAuditStore(stores.auditStore, stores.auditStoreSecret, { createsIndexes: true });
        stores.auditStoreAppSecret.grantRead(fn.role);
      } else fn.bindAuditStore(stores.auditStore, stores.auditStoreAppSecret, { createsIndexes: false });
    }
  }
}
