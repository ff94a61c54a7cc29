import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { StageConfig } from '#infra/config/stages';

/** Not 6379: cdk-nag AEC5; the port is read from here by the functions' REDIS_URL. */
export const CACHE_PORT = 6380;

export interface ValkeyCacheProps {
  readonly stage: StageConfig;
  readonly vpc: ec2.IVpc;
  readonly name: string;
}

/**
 * ElastiCache for Valkey: TLS required in transit, encrypted at rest, AUTH token generated into
 * Secrets Manager and handed to ElastiCache as a dynamic reference (never in the template).
 */
export class ValkeyCache extends Construct implements ec2.IConnectable {
  readonly connections: ec2.Connections;
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  readonly authSecret: secretsmanager.Secret;
  readonly port = CACHE_PORT;
  /** Primary endpoint host (writes and reads; the cache is small and read-mostly). */
  readonly host: string;
  /**
   * The primary endpoint's port as CloudFormation reports it (a token, for the functions' environment):
   * the local cloud maps it to its own Redis, which a literal `port` in the URL would hide.
   */
  readonly endpointPort: string;

  constructor(scope: Construct, id: string, props: ValkeyCacheProps) {
    super(scope, id);
    const { stage, vpc } = props;
    const multiAz = stage.cache.replicas > 0;

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      allowAllOutbound: false,
      description: 'ElastiCache Valkey: ingress from the functions that bind it only',
    });
    this.connections = new ec2.Connections({
      securityGroups: [securityGroup],
      defaultPort: ec2.Port.tcp(CACHE_PORT),
    });

    this.authSecret = new secretsmanager.Secret(this, 'AuthToken', {
      description: `ElastiCache AUTH token for ${props.name}`,
      // ElastiCache AUTH tokens: 16-128 printable characters, no punctuation surprises.
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: stage.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'SubnetGroup', {
      description: `${props.name} private subnets`,
      subnetIds: vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnetIds,
    });

    const slowLog = new logs.LogGroup(this, 'SlowLog', {
      retention: stage.logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'Resource', {
      replicationGroupDescription: `${props.name} route cache`,
      engine: 'valkey',
      engineVersion: '8.0',
      cacheNodeType: stage.cache.nodeType,
      numCacheClusters: 1 + stage.cache.replicas,
      automaticFailoverEnabled: multiAz,
      multiAzEnabled: multiAz,
      port: CACHE_PORT,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      // At rest: the ElastiCache service key; the cache holds derived, re-loadable data only.
      atRestEncryptionEnabled: true,
      authToken: this.authSecret.secretValue.unsafeUnwrap(),
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [securityGroup.securityGroupId],
      snapshotRetentionLimit: stage.cache.snapshotRetentionDays,
      autoMinorVersionUpgrade: true,
      logDeliveryConfigurations: [
        {
          destinationType: 'cloudwatch-logs',
          logFormat: 'json',
          logType: 'slow-log',
          destinationDetails: { cloudWatchLogsDetails: { logGroup: slowLog.logGroupName } },
        },
      ],
    });
    // A cache is rebuilt from Postgres on demand: nothing to retain, even in prod.
    this.replicationGroup.applyRemovalPolicy(RemovalPolicy.DESTROY);
    this.host = this.replicationGroup.attrPrimaryEndPointAddress;
    this.endpointPort = this.replicationGroup.attrPrimaryEndPointPort;
  }
}
