import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as docdb from 'aws-cdk-lib/aws-docdb';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { LambdaFunctionSpec } from '#functions/route-table';
import { LAMBDA_EXTERNAL_MODULES, LAMBDA_MODULE_ALIASES } from '#infra/bundling';
import { type AppFunctionId, reservedConcurrencyOf, type StageConfig } from '#infra/config/stages';
import type { MskCluster } from '#infra/constructs/msk-cluster';
import type { ValkeyCache } from '#infra/constructs/valkey-cache';
import { acknowledge, REASONS } from '#infra/nag';
import { CA_BUNDLE_LAMBDA_PATH, REPO_ROOT } from '#infra/paths';
import {
  ENV,
  type KafkaConsumerUse,
  type KafkaProducerUse,
  type KafkaTopicUse,
} from '#shared/config/bindings';
import { METRICS_NAMESPACE } from '#shared/observability/metric-names';

/** The alias callers invoke: CodeDeploy moves it to each new version (infra/constructs/safe-deploys.ts). */
export const LIVE_ALIAS = 'live';

/** Connections per container: one for the request, one for an overlapping background query. */
export const LAMBDA_DATABASE_POOL_MAX = 2;

/** RDS Proxy for PostgreSQL always listens on 5432, whatever port the instance behind it uses. */
export const PROXY_PORT = 5432;
export const SERVICE_NAME = 'traffic-manager';

/** A file or folder (relative to the repo root) copied next to the bundle, e.g. migrations/. */
export interface BundleFile {
  readonly from: string;
  /** Path inside the bundle, i.e. under /var/task. */
  readonly to: string;
}

export interface AppFunctionProps {
  readonly stage: StageConfig;
  readonly functionId: AppFunctionId;
  readonly spec: LambdaFunctionSpec;
  /** Omitted on the LocalStack target (community Lambda ignores VPC config; the stores are containers). */
  readonly vpc?: ec2.IVpc;
  readonly timeout?: Duration;
  readonly memorySize?: number;
  readonly bundleFiles?: readonly BundleFile[];
}

/** How a function uses one topic: as its (idempotent) producer, its administrator, or its readiness probe. */
export type KafkaAccess =
  | { readonly produce: KafkaProducerUse; readonly admin?: never; readonly probe?: never }
  | { readonly admin: KafkaTopicUse; readonly produce?: never; readonly probe?: never }
  | { readonly probe: KafkaTopicUse; readonly produce?: never; readonly admin?: never };

export interface KafkaConsumerOptions extends KafkaConsumerUse {
  readonly failureQueue: sqs.IQueue;
  /** ESMs in one poller group share provisioned poller capacity (one always-on cost, not three). */
  readonly pollerGroupName: string;
}

export interface LocalServiceUrls {
  readonly databaseUrl?: string;
  readonly redisUrl?: string;
  readonly kafkaBrokers?: string;
  /** With kafkaBrokers: the topic the function produces to or administers. */
  readonly kafkaTopic?: string;
  readonly mongoUrl?: string;
}

/**
 * One Lambda with the house defaults: Node.js 22 on arm64, ESM bundle with source maps, active
 * tracing, its own log group (retention by stage), reserved concurrency (the bulkhead), private
 * subnets with its own security group, and a role that starts empty. Each `bind…` grants exactly
 * what the function needs on one resource and sets the environment variables that name it.
 */
export class AppFunction extends Construct implements ec2.IConnectable {
  readonly fn: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly securityGroup?: ec2.SecurityGroup;
  readonly functionId: AppFunctionId;
  /** The published version callers invoke, once `publishLive` made it. */
  live?: lambda.Alias;
  private readonly stage: StageConfig;

  constructor(scope: Construct, id: string, props: AppFunctionProps) {
    super(scope, id);
    const { stage, spec, vpc } = props;
    this.stage = stage;
    this.functionId = props.functionId;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: stage.logRetentionDays,
      removalPolicy: stage.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    // An empty role plus inline statements instead of the AWS managed Lambda policies: logs go to
    // this function's own group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${SERVICE_NAME} ${stage.name} ${props.functionId}`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    if (vpc) {
      this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
        vpc,
        allowAllOutbound: false,
        description: `${props.functionId}: egress to the stores it binds and to AWS APIs`,
      });
      this.securityGroup.addEgressRule(
        ec2.Peer.anyIpv4(),
        ec2.Port.tcp(443),
        'AWS APIs: the VPC has no internet route, so 443 reaches only the VPC endpoints',
      );
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        }),
      );
    }

    const bundleFiles = props.bundleFiles ?? [];
    this.fn = new NodejsFunction(this, 'Function', {
      entry: join(REPO_ROOT, spec.entry),
      handler: spec.handler,
      description: spec.description,
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      role: this.role,
      reservedConcurrentExecutions: reservedConcurrencyOf(stage, props.functionId),
      ...(vpc && this.securityGroup
        ? {
            vpc,
            vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
            securityGroups: [this.securityGroup],
          }
        : {}),
      environment: {
        STAGE: stage.name,
        LOG_LEVEL: stage.logLevel,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        METRICS_BACKEND: 'emf',
        METRICS_NAMESPACE,
        // Lambda traces each invocation itself (active tracing above); `xray` also loads the Powertools
        // Tracer, whose async hook costs every promise (StageConfig.tracingSdk).
        TRACING: stage.tracingSdk ? 'xray' : 'off',
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        mainFields: ['module', 'main'],
        // ESM output still meets CommonJS dependencies that call require().
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        // What the bundles leave out or swap, and why: infra/bundling.ts.
        externalModules: LAMBDA_EXTERNAL_MODULES,
        esbuildArgs: {
          '--alias': Object.entries(LAMBDA_MODULE_ALIASES).map(([from, to]) => `${from}=${to}`),
        },
        ...(bundleFiles.length > 0
          ? {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (inputDir: string, outputDir: string) =>
                  bundleFiles.map((f) => `cp -R "${join(inputDir, f.from)}" "${join(outputDir, f.to)}"`),
              },
            }
          : {}),
      },
    });

    acknowledge(this.role, {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: vpc ? `${REASONS.xray}; ${REASONS.vpcEni}` : REASONS.xray,
    });
    acknowledge(this.fn, { id: 'AwsSolutions-L1', reason: REASONS.runtime });
  }

  get connections(): ec2.Connections {
    return this.fn.connections;
  }

  get functionName(): string {
    return this.fn.functionName;
  }

  /** What the API, the authorizer, event sources and schedules invoke: the live alias, else $LATEST. */
  get target(): lambda.IFunction {
    return this.live ?? this.fn;
  }

  /**
   * Publishes the code as a version behind the `live` alias, with the stage's provisioned concurrency for
   * this function (target-tracked between its min and max). Old versions are retained, so CodeDeploy can
   * move the alias back. `options` carries the alias's async-invoke settings (retries, maximum event age).
   */
  publishLive(options: Pick<lambda.AliasOptions, 'retryAttempts' | 'maxEventAge'> = {}): lambda.Alias {
    if (this.live) return this.live;
    const provisioned = this.stage.deploys.provisionedConcurrency[this.functionId];
    const reserved = reservedConcurrencyOf(this.stage, this.functionId);
    if (provisioned && reserved !== undefined && provisioned.max > reserved) {
      throw new Error(
        `${this.functionId}: provisioned concurrency up to ${provisioned.max} exceeds its reserved ${reserved}`,
      );
    }
    this.live = new lambda.Alias(this, 'Live', {
      aliasName: LIVE_ALIAS,
      version: this.fn.currentVersion,
      provisionedConcurrentExecutions: provisioned?.min,
      ...options,
    });
    if (provisioned) {
      this.live
        .addAutoScaling({ minCapacity: provisioned.min, maxCapacity: provisioned.max })
        .scaleOnUtilization({ utilizationTarget: provisioned.utilization });
    }
    return this.live;
  }

  addEnvironment(vars: Record<string, string>): this {
    for (const [key, value] of Object.entries(vars)) this.fn.addEnvironment(key, value);
    return this;
  }

  /**
   * PostgreSQL through RDS Proxy, TLS verified against the proxy's public (ACM) certificate, so no CA
   * file is bundled. User name and password are both read from the secret: alternating-users rotation
   * switches the user (tm_app, tm_app_clone) as well as the password.
   */
  bindDatabase(
    proxy: rds.DatabaseProxy,
    secret: secretsmanager.ISecret,
    database: { readonly name: string },
  ): this {
    secret.grantRead(this.role);
    this.connections.allowTo(proxy, ec2.Port.tcp(PROXY_PORT), `${this.node.id} to RDS Proxy`);
    const v = ENV.database;
    return this.addEnvironment({
      [v.host]: proxy.endpoint,
      [v.port]: String(PROXY_PORT),
      [v.name]: database.name,
      [v.secretArn]: secret.secretArn,
      [v.ssl]: 'verify-full',
      // A container serves one invocation at a time; RDS Proxy multiplexes the containers' connections.
      [v.poolMax]: String(LAMBDA_DATABASE_POOL_MAX),
    });
  }

  /** ElastiCache Valkey over TLS (`rediss://`), AUTH token read from Secrets Manager at cold start. */
  bindRedis(cache: ValkeyCache, authSecret: secretsmanager.ISecret): this {
    authSecret.grantRead(this.role);
    this.connections.allowTo(cache, ec2.Port.tcp(cache.port), `${this.node.id} to Valkey`);
    const v = ENV.cache;
    return this.addEnvironment({
      [v.backend]: 'redis',
      [v.redisUrl]: `rediss://${cache.host}:${cache.endpointPort}`,
      [v.redisAuthSecretArn]: authSecret.secretArn,
    });
  }

  /**
   * MSK with IAM auth, as kafkajs uses it: the bootstrap brokers resolved at deploy time (KAFKA_BROKERS, from
   * MskBootstrapBrokers: no control-plane call at cold start), then Connect and topic metadata
   * (DescribeTopic). A producer is idempotent (InitProducerId:
   * IDEMPOTENT_WRITE on the cluster, which MSK IAM grants as WriteDataIdempotently) and writes the topic;
   * the topic admin creates it and grows its partitions (CreateTopic, AlterTopic; it reads and changes no
   * topic configuration); the readiness probe only connects and reads metadata. Action names: MSK developer
   * guide, "IAM access control" → kafka-actions.
   */
  bindKafka(cluster: MskCluster, bootstrapBrokers: string, access: KafkaAccess): this {
    this.connections.allowTo(cluster, ec2.Port.tcp(9098), `${this.node.id} to MSK (IAM)`);
    const { topic } = (access.produce ?? access.admin ?? access.probe) as KafkaTopicUse;
    const clusterActions = ['kafka-cluster:Connect'];
    if (access.produce?.idempotent) clusterActions.push('kafka-cluster:WriteDataIdempotently');
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: clusterActions, resources: [cluster.clusterArn] }),
    );
    const topicActions = ['kafka-cluster:DescribeTopic'];
    if (access.produce) topicActions.push('kafka-cluster:WriteData');
    if (access.admin) topicActions.push('kafka-cluster:CreateTopic', 'kafka-cluster:AlterTopic');
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: topicActions, resources: [cluster.topicArn(topic)] }),
    );
    const v = ENV.kafka;
    return this.addEnvironment({
      [v.auth]: 'iam',
      [v.tls]: 'true',
      [v.brokers]: bootstrapBrokers,
      [v.topic]: topic,
    });
  }

  /**
   * DocumentDB 5.0 over TLS, verified with the RDS CA bundle copied into the function package. Only the
   * deploy step that connects as the master creates the indexes; the audit functions' user cannot.
   */
  bindAuditStore(
    cluster: docdb.DatabaseCluster,
    secret: secretsmanager.ISecret,
    options: { readonly createsIndexes: boolean },
  ): this {
    secret.grantRead(this.role);
    const { hostname, port } = cluster.clusterEndpoint;
    this.connections.allowTo(cluster, ec2.Port.tcp(port), `${this.node.id} to DocumentDB`);
    const v = ENV.auditStore;
    return this.addEnvironment({
      [v.url]: `mongodb://${hostname}:${port}/?tls=true&replicaSet=rs0&readPreference=secondaryPreferred&retryWrites=false`,
      [v.secretArn]: secret.secretArn,
      [v.tlsCaFile]: CA_BUNDLE_LAMBDA_PATH,
      [v.createIndexes]: String(options.createsIndexes),
    });
  }

  /** The API token hash key: read once per container from this one secret, never put in the environment. */
  bindTokenHashKey(secret: secretsmanager.ISecret): this {
    secret.grantRead(this.role);
    return this.addEnvironment({ [ENV.tokenHashKey.secretArn]: secret.secretArn });
  }

  /** Powertools idempotency records: item-level read/write on one table, nothing table-wide. */
  bindIdempotencyTable(table: dynamodb.ITable): this {
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [table.tableArn],
      }),
    );
    return this.addEnvironment({ [ENV.idempotencyTable.table]: table.tableName });
  }

  /** Where malformed records are parked (the same queue the event source mappings fail to). */
  bindFailureQueue(queue: sqs.IQueue): this {
    queue.grantSendMessages(this.role);
    const v = ENV.failureQueue;
    return this.addEnvironment({ [v.destination]: 'sqs', [v.queueUrl]: queue.queueUrl });
  }

  /** LocalStack target: the compose containers, plain connections on the private Docker network. */
  useLocalServices(urls: LocalServiceUrls): this {
    const vars: Record<string, string> = {};
    const { database: db, cache, kafka, auditStore } = ENV;
    if (urls.databaseUrl) Object.assign(vars, { [db.url]: urls.databaseUrl, [db.ssl]: 'disable' });
    if (urls.redisUrl) Object.assign(vars, { [cache.backend]: 'redis', [cache.redisUrl]: urls.redisUrl });
    if (urls.kafkaBrokers) {
      Object.assign(vars, {
        [kafka.brokers]: urls.kafkaBrokers,
        [kafka.auth]: 'none',
        [kafka.topic]: urls.kafkaTopic,
      });
    }
    if (urls.mongoUrl) Object.assign(vars, { [auditStore.url]: urls.mongoUrl });
    return this.addEnvironment(vars);
  }

  /**
   * Consume one topic through an MSK event source mapping in its own consumer group: from the start
   * of the topic, bounded retries, then the batch's metadata goes to the failure queue. Retry and
   * on-failure controls on Kafka mappings need provisioned pollers.
   */
  consumeKafka(cluster: MskCluster, options: KafkaConsumerOptions): lambda.EventSourceMapping {
    const c = this.stage.consumers;
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kafka:DescribeCluster', 'kafka:DescribeClusterV2', 'kafka:GetBootstrapBrokers'],
        resources: [cluster.clusterArn],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kafka-cluster:Connect', 'kafka-cluster:DescribeClusterDynamicConfiguration'],
        resources: [cluster.clusterArn],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
        resources: [cluster.topicArn(options.topic)],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'],
        resources: [cluster.groupArn(options.consumerGroup)],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:DescribeVpcs', 'ec2:DescribeSecurityGroups'],
        resources: ['*'],
      }),
    );
    acknowledge(this.role, { id: 'AwsSolutions-IAM5[Resource::*]', reason: REASONS.mskEsmEni });

    // Scoped under the function as `fn.addEventSourceMapping` would (a stable logical id), invoking the
    // live alias when there is one, so a consumer's new code is shifted like the API's.
    return new lambda.EventSourceMapping(this.fn, 'KafkaEventSource', {
      target: this.target,
      eventSourceArn: cluster.clusterArn,
      kafkaTopic: options.topic,
      kafkaConsumerGroupId: options.consumerGroup,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: c.batchSize,
      maxBatchingWindow: Duration.seconds(c.maxBatchingWindowSeconds),
      retryAttempts: c.retryAttempts,
      maxRecordAge: Duration.seconds(c.maxRecordAgeSeconds),
      bisectBatchOnError: true,
      onFailure: new SqsDlq(options.failureQueue),
      provisionedPollerConfig: {
        minimumPollers: c.minPollers,
        maximumPollers: c.maxPollers,
        pollerGroupName: options.pollerGroupName,
      },
    });
  }
}
