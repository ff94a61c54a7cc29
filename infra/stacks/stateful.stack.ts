import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as docdb from 'aws-cdk-lib/aws-docdb';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sam from 'aws-cdk-lib/aws-sam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { StageConfig } from '#infra/config/stages';
import { MskCluster } from '#infra/constructs/msk-cluster';
import { ValkeyCache } from '#infra/constructs/valkey-cache';
import { acknowledge } from '#infra/nag';

/** Not 5432 (cdk-nag RDS11): only RDS Proxy connects to the instance; clients use the proxy's 5432. */
export const DATABASE_INSTANCE_PORT = 5433;
/** Not 27017 (cdk-nag DOC2). */
export const AUDIT_STORE_PORT = 27018;
export const DATABASE_NAME = 'traffic_manager';
/** The master user: migrations only (the migrate custom resource); it owns every object. */
export const DATABASE_USER = 'tm_admin';
/**
 * The functions' user: DML on the app's tables through the `traffic_manager_app` role, created with its
 * own secret's password by the migrate function. Alternating-users rotation adds `tm_app_clone`.
 */
export const DATABASE_APP_USER = 'tm_app';
/** The audit functions' DocumentDB user: find and insert on the audit collection (functions/deploy/audit-user.mongo.ts). */
export const AUDIT_STORE_APP_USER = 'tm_audit_app';
/** Declared once with the functions' bindings (the config default and the manifest use it too). */
export { ROUTE_EVENTS_TOPIC } from '#shared/config/bindings';

export interface StatefulStackProps extends StackProps {
  readonly stage: StageConfig;
  /** Absent on the LocalStack target, where only the table and the queue are created. */
  readonly vpc?: ec2.IVpc;
}

/** The managed data stores, created only on the AWS target. */
export interface ManagedStores {
  readonly database: rds.DatabaseInstance;
  /** The instance's fixed identifier, for its CloudWatch dimension (no cross-stack export needed). */
  readonly databaseInstanceIdentifier: string;
  readonly databaseProxy: rds.DatabaseProxy;
  /** The master's secret: the migrate function only. */
  readonly databaseSecret: secretsmanager.ISecret;
  /** The application user's secret (DATABASE_APP_USER), attached to the instance: every other function. */
  readonly databaseAppSecret: secretsmanager.ISecret;
  readonly cache: ValkeyCache;
  readonly kafka: MskCluster;
  readonly auditStore: docdb.DatabaseCluster;
  /** The cluster's fixed identifier, for its CloudWatch dimension. */
  readonly auditStoreClusterName: string;
  /** The master's secret: the auditStoreSetup deploy function only. */
  readonly auditStoreSecret: secretsmanager.ISecret;
  /** The audit functions' least-privilege user (AUDIT_STORE_APP_USER), attached to the cluster. */
  readonly auditStoreAppSecret: secretsmanager.ISecret;
}

/**
 * Everything that holds data: replaced rarely, retained and deletion-protected outside dev.
 * Encryption at rest uses each service's AWS-managed key: one account, no cross-account readers, and
 * no key policies to keep in step across stacks (a CMK would add cost, not isolation, here).
 */
export class StatefulStack extends Stack {
  readonly idempotencyTable: dynamodb.Table;
  readonly failureQueue: sqs.Queue;
  /** The HMAC key API token hashes are made with (docs/security.md); on every target. */
  readonly tokenHashKey: secretsmanager.Secret;
  readonly stores?: ManagedStores;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    const { stage } = props;
    const removal = stage.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const prefix = `traffic-manager-${stage.name}`;

    this.idempotencyTable = new dynamodb.Table(this, 'IdempotencyTable', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'expiration',
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: stage.protectData,
      removalPolicy: removal,
    });

    this.failureQueue = new sqs.Queue(this, 'FailureQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: removal,
    });
    acknowledge(this.failureQueue, {
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the terminal failure destination of the MSK event source mappings and the ' +
        'consumers; its messages are inspected and redriven by an operator, so a DLQ behind it has no role',
    });

    // Losing this key invalidates every API token, so it is kept with the data (retained outside dev).
    this.tokenHashKey = new secretsmanager.Secret(this, 'TokenHashKey', {
      secretName: `${prefix}/api-token-hash-key`,
      description: 'HMAC-SHA256 key(s) for API token hashes: comma-separated, the first signs new tokens',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy: removal,
    });
    acknowledge(this.tokenHashKey, {
      id: 'AwsSolutions-SMG4',
      reason:
        'Replacing the token hash key invalidates every API token at once, so it is rotated by hand in two ' +
        'steps (add the new key in front, re-issue tokens, drop the old key), as docs/security.md describes; ' +
        'a Secrets Manager rotation function cannot keep old tokens valid',
    });

    if (stage.target === 'aws') {
      if (!props.vpc) throw new Error('the aws target needs the network stack VPC');
      this.stores = this.managedStores(stage, props.vpc, prefix, removal);
    }
    // Every secret lives as long as the data it opens: a prod database restored from its final snapshot
    // still needs its master and app passwords (the generated secrets default to Delete).
    for (const secret of this.node.findAll().filter((c) => c instanceof secretsmanager.Secret)) {
      secret.applyRemovalPolicy(removal);
    }
    this.rotationLogGroups(stage, removal);
  }

  /**
   * The rotation functions come from the Serverless Application Repository, whose functions log to a group
   * Lambda would create without retention: create `/aws/lambda/<name>` first, with the stage's retention.
   */
  private rotationLogGroups(stage: StageConfig, removal: RemovalPolicy): void {
    for (const app of this.node.findAll().filter((c) => c instanceof sam.CfnApplication)) {
      const name = (app.parameters as Record<string, string> | undefined)?.functionName;
      if (!name || !app.node.scope) continue;
      const group = new logs.LogGroup(app.node.scope, 'FunctionLogs', {
        logGroupName: `/aws/lambda/${name}`,
        retention: stage.logRetentionDays,
        removalPolicy: removal,
      });
      app.node.addDependency(group);
    }
  }

  /**
   * An application user's secret rotated with alternating users every 30 days, logged in as the master;
   * not at creation, since the user exists only once a Stateless deploy step has made it.
   */
  private rotateAlternatingUsers(
    id: string,
    props: Pick<
      secretsmanager.SecretRotationProps,
      'application' | 'secret' | 'masterSecret' | 'target' | 'vpc' | 'securityGroup' | 'excludeCharacters'
    >,
  ): secretsmanager.SecretRotation {
    return new secretsmanager.SecretRotation(this, id, {
      ...props,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      automaticallyAfter: Duration.days(30),
      rotateImmediatelyOnUpdate: false,
    });
  }

  /** Rotation Lambdas reach the store and the Secrets Manager endpoint, nothing else. */
  private rotationSecurityGroup(
    id: string,
    stage: StageConfig,
    vpc: ec2.IVpc,
    store: string,
  ): ec2.SecurityGroup {
    const sg = new ec2.SecurityGroup(this, id, {
      vpc,
      allowAllOutbound: false,
      description: `Secrets Manager rotation of the ${store} credentials`,
    });
    sg.addEgressRule(ec2.Peer.ipv4(stage.network.cidr), ec2.Port.tcp(443), 'Secrets Manager endpoint');
    return sg;
  }

  private managedStores(
    stage: StageConfig,
    vpc: ec2.IVpc,
    prefix: string,
    removal: RemovalPolicy,
  ): ManagedStores {
    const isolated: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    const snapshotOrDestroy = stage.protectData ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY;

    // PostgreSQL 16 behind RDS Proxy.
    const instanceIdentifier = `${prefix}-routes`;
    const databaseLogs = new logs.LogGroup(this, 'DatabaseLogs', {
      logGroupName: `/aws/rds/instance/${instanceIdentifier}/postgresql`,
      retention: stage.logRetentionDays,
      removalPolicy: removal,
    });
    const databaseSg = new ec2.SecurityGroup(this, 'DatabaseSecurityGroup', {
      vpc,
      allowAllOutbound: false,
      description: 'PostgreSQL instance: ingress from RDS Proxy and secret rotation only',
    });
    const engine = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 });
    const database = new rds.DatabaseInstance(this, 'Database', {
      engine,
      instanceIdentifier,
      instanceType: new ec2.InstanceType(stage.database.instanceClass),
      vpc,
      vpcSubnets: isolated,
      securityGroups: [databaseSg],
      port: DATABASE_INSTANCE_PORT,
      databaseName: DATABASE_NAME,
      credentials: rds.Credentials.fromGeneratedSecret(DATABASE_USER, {
        secretName: `${prefix}/database/admin`,
      }),
      parameterGroup: new rds.ParameterGroup(this, 'DatabaseParameters', {
        engine,
        description: 'TLS required for every connection',
        parameters: { 'rds.force_ssl': '1' },
      }),
      caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
      multiAz: stage.database.multiAz,
      allocatedStorage: stage.database.allocatedStorageGiB,
      maxAllocatedStorage: stage.database.maxAllocatedStorageGiB,
      storageType: rds.StorageType.GP3,
      storageEncrypted: true,
      backupRetention: Duration.days(stage.database.backupRetentionDays),
      deletionProtection: stage.protectData,
      removalPolicy: snapshotOrDestroy,
      copyTagsToSnapshot: true,
      autoMinorVersionUpgrade: true,
      publiclyAccessible: false,
      enablePerformanceInsights: stage.database.performanceInsights,
      cloudwatchLogsExports: ['postgresql'],
    });
    database.node.addDependency(databaseLogs);
    const databaseSecret = database.secret!;
    const rotationSg = this.rotationSecurityGroup('DatabaseRotationSecurityGroup', stage, vpc, 'database');
    database.addRotationSingleUser({
      automaticallyAfter: Duration.days(30),
      vpcSubnets: isolated,
      securityGroup: rotationSg,
    });
    // The application user's own secret (the migrate function creates the user with this password),
    // rotated with alternating users: each rotation changes the password of the user the functions are NOT
    // using (tm_app, then tm_app_clone, ...), logged in as the master its `masterarn` names, and only then
    // points the secret at it. Credentials a container has cached stay valid for a whole rotation period, so
    // a rotation refuses no login; the clone is a member of tm_app, and migrate grants it the app role too.
    const databaseAppSecret = new rds.DatabaseSecret(this, 'DatabaseAppSecret', {
      username: DATABASE_APP_USER,
      secretName: `${prefix}/database/app`,
      masterSecret: databaseSecret,
    }).attach(database);
    this.rotateAlternatingUsers('DatabaseAppRotation', {
      application: secretsmanager.SecretRotationApplication.POSTGRES_ROTATION_MULTI_USER,
      secret: databaseAppSecret,
      masterSecret: databaseSecret,
      target: database,
      vpc,
      securityGroup: rotationSg,
    });

    const proxySg = new ec2.SecurityGroup(this, 'DatabaseProxySecurityGroup', {
      vpc,
      allowAllOutbound: false,
      description: 'RDS Proxy: ingress from the functions that bind the database',
    });
    proxySg.addEgressRule(ec2.Peer.ipv4(stage.network.cidr), ec2.Port.tcp(443), 'Secrets Manager endpoint');
    const databaseProxy = new rds.DatabaseProxy(this, 'DatabaseProxy', {
      proxyTarget: rds.ProxyTarget.fromInstance(database),
      // The proxy accepts each user whose secret it holds: the master (migrations) and the application user.
      secrets: [databaseSecret, databaseAppSecret],
      vpc,
      vpcSubnets: isolated,
      securityGroups: [proxySg],
      requireTLS: true,
      // Clients authenticate with the secret's credentials (SCRAM), so no token signer is needed.
      iamAuth: false,
      clientPasswordAuthType: rds.ClientPasswordAuthType.POSTGRES_SCRAM_SHA_256,
      idleClientTimeout: Duration.minutes(30),
      maxConnectionsPercent: 90,
    });
    // DatabaseProxy itself opens the instance's port to the proxy security group.
    if (!stage.database.multiAz) {
      acknowledge(database, {
        id: 'AwsSolutions-RDS3',
        reason: `Single-AZ in ${stage.name} only: a disposable development database; prod is Multi-AZ`,
      });
    }
    if (!stage.protectData) {
      acknowledge(database, {
        id: 'AwsSolutions-RDS10',
        reason: `Deletion protection off in ${stage.name} only so the stage can be torn down; on in prod`,
      });
    }

    const cache = new ValkeyCache(this, 'Cache', { stage, vpc, name: `${prefix}-cache` });
    acknowledge(cache.authSecret, {
      id: 'AwsSolutions-SMG4',
      reason:
        'An ElastiCache AUTH token is rotated with ModifyReplicationGroup (--auth-token-update-strategy ' +
        'ROTATE, then SET), which Secrets Manager has no rotation function for; docs/deploying.md gives the steps',
    });
    if (stage.cache.replicas === 0) {
      acknowledge(cache.replicationGroup, {
        id: 'AwsSolutions-AEC4',
        reason: `Single node in ${stage.name} only: the cache is a disposable read-through tier; prod is Multi-AZ`,
      });
    }

    const kafka = new MskCluster(this, 'Kafka', { stage, vpc, clusterName: `${prefix}-events` });

    // DocumentDB 5.0 for the audit trail.
    const auditClusterName = `${prefix}-audit`;
    const auditLogs = new logs.LogGroup(this, 'AuditStoreLogs', {
      logGroupName: `/aws/docdb/${auditClusterName}/audit`,
      retention: stage.logRetentionDays,
      removalPolicy: removal,
    });
    const auditSg = new ec2.SecurityGroup(this, 'AuditStoreSecurityGroup', {
      vpc,
      allowAllOutbound: false,
      description: 'DocumentDB: ingress from the audit functions and secret rotation only',
    });
    const auditStore = new docdb.DatabaseCluster(this, 'AuditStore', {
      dbClusterName: auditClusterName,
      engineVersion: '5.0.0',
      masterUser: { username: 'tm_audit', secretName: `${prefix}/audit-store/admin` },
      instanceType: new ec2.InstanceType(stage.auditStore.instanceClass),
      instances: stage.auditStore.instances,
      vpc,
      vpcSubnets: isolated,
      securityGroup: auditSg,
      port: AUDIT_STORE_PORT,
      parameterGroup: new docdb.ClusterParameterGroup(this, 'AuditStoreParameters', {
        family: 'docdb5.0',
        description: 'TLS required; audit log of authentication and DDL events',
        parameters: { tls: 'enabled', audit_logs: 'enabled' },
      }),
      storageEncrypted: true,
      backup: { retention: Duration.days(7) },
      deletionProtection: stage.protectData,
      removalPolicy: snapshotOrDestroy,
      exportAuditLogsToCloudWatch: true,
      copyTagsToSnapshot: true,
    });
    auditStore.node.addDependency(auditLogs);
    const auditStoreSecret = auditStore.secret!;
    const auditRotationSg = this.rotationSecurityGroup(
      'AuditStoreRotationSecurityGroup',
      stage,
      vpc,
      'audit store',
    );
    new secretsmanager.SecretRotation(this, 'AuditStoreRotation', {
      application: secretsmanager.SecretRotationApplication.MONGODB_ROTATION_SINGLE_USER,
      secret: auditStoreSecret,
      target: auditStore,
      vpc,
      vpcSubnets: isolated,
      securityGroup: auditRotationSg,
      automaticallyAfter: Duration.days(30),
      // DocumentDB rejects these in passwords (the cluster construct's secret excludes them too).
      excludeCharacters: '"@/',
    });
    // The audit functions' own user (the auditStoreSetup deploy function creates it with find and insert on
    // the audit collection only), rotated with alternating users as the PostgreSQL app user is: the
    // rotation logs in as the master its `masterarn` names and clones the user with the same roles.
    const auditStoreAppSecret = new docdb.DatabaseSecret(this, 'AuditStoreAppSecret', {
      username: AUDIT_STORE_APP_USER,
      secretName: `${prefix}/audit-store/app`,
      masterSecret: auditStoreSecret,
    }).attach(auditStore);
    this.rotateAlternatingUsers('AuditStoreAppRotation', {
      application: secretsmanager.SecretRotationApplication.MONGODB_ROTATION_MULTI_USER,
      secret: auditStoreAppSecret,
      masterSecret: auditStoreSecret,
      target: auditStore,
      vpc,
      securityGroup: auditRotationSg,
      excludeCharacters: '"@/',
    });
    acknowledge(auditStore, {
      id: 'AwsSolutions-DOC3',
      reason:
        'The DocumentDB construct passes the master username and password as {{resolve:secretsmanager:…}} ' +
        'references to its generated secret (asserted in test/infra); the rule cannot evaluate the Fn::Join ' +
        'around the secret ARN',
    });
    acknowledge(
      auditStore,
      ...['authenticate', 'createIndex', 'dropCollection'].map((log) => ({
        id: `AwsSolutions-DOC5[LogExport::${log}]`,
        reason:
          'DocumentDB exports only the "audit" and "profiler" log types; "audit" is exported and the ' +
          `audit_logs parameter is enabled, which records ${log} events (the rule's names are not export types)`,
      })),
    );

    return {
      database,
      databaseInstanceIdentifier: instanceIdentifier,
      databaseProxy,
      databaseSecret,
      databaseAppSecret,
      cache,
      kafka,
      auditStore,
      auditStoreClusterName: auditClusterName,
      auditStoreSecret,
      auditStoreAppSecret,
    };
  }
}
