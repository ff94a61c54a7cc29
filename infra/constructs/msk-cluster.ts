import { ArnFormat, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as msk from 'aws-cdk-lib/aws-msk';
import { Construct } from 'constructs';
import type { StageConfig } from '#infra/config/stages';

/** MSK with IAM auth listens on 9098 (TLS + SASL/IAM). */
export const MSK_IAM_PORT = 9098;

/**
 * Kafka version of the provisioned cluster (`.x`: MSK applies patch releases). 3.8.x is the version MSK
 * recommends (3.7.x reaches end of support on 2026-09-01) and runs on every Standard broker size, t3.small
 * (dev) and m7g (prod, 3.3.2+) included. Upgrade path: docs/deploying.md.
 */
export const KAFKA_VERSION = '3.8.x';

/**
 * Broker settings of the cluster's MSK configuration: durable `acks=all` (min.insync.replicas), no unclean
 * leader election (a lagging replica never becomes leader and drops acknowledged writes), no topics created
 * by a typo, and the topic defaults stated rather than inherited.
 */
export const brokerProperties = (kafka: StageConfig['kafka']): Record<string, string> => ({
  'auto.create.topics.enable': 'false',
  'default.replication.factor': String(kafka.replicationFactor),
  'min.insync.replicas': String(kafka.minInsyncReplicas),
  'num.partitions': String(kafka.partitions),
  'unclean.leader.election.enable': 'false',
  'log.retention.hours': String(kafka.retentionHours),
});

export interface MskClusterProps {
  readonly stage: StageConfig;
  readonly vpc: ec2.IVpc;
  readonly clusterName: string;
}

/**
 * A provisioned MSK cluster: IAM auth only, TLS client↔broker and between brokers, broker logs to
 * CloudWatch. The cluster security group is also the one the Lambda event source mappings use, so it
 * lets itself in on the IAM port.
 */
export class MskCluster extends Construct implements ec2.IConnectable {
  readonly connections: ec2.Connections;
  readonly securityGroup: ec2.SecurityGroup;
  readonly cluster: msk.CfnCluster;
  readonly configuration: msk.CfnConfiguration;
  readonly clusterArn: string;
  readonly clusterName: string;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: MskClusterProps) {
    super(scope, id);
    const { stage, vpc } = props;
    this.clusterName = props.clusterName;

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      allowAllOutbound: false,
      description: 'MSK brokers and the Lambda event source mappings that poll them',
    });
    // The event source mapping's pollers use this security group: they reach the brokers through it
    // and the Lambda/STS/SQS endpoints over 443 (the VPC has no internet route).
    this.securityGroup.addIngressRule(
      this.securityGroup,
      ec2.Port.tcp(MSK_IAM_PORT),
      'ESM pollers to brokers',
    );
    this.securityGroup.addEgressRule(
      this.securityGroup,
      ec2.Port.tcp(MSK_IAM_PORT),
      'ESM pollers to brokers',
    );
    this.securityGroup.addEgressRule(
      ec2.Peer.ipv4(stage.network.cidr),
      ec2.Port.tcp(443),
      'ESM pollers to the Lambda, STS and SQS interface endpoints',
    );
    this.connections = new ec2.Connections({
      securityGroups: [this.securityGroup],
      defaultPort: ec2.Port.tcp(MSK_IAM_PORT),
    });

    this.logGroup = new logs.LogGroup(this, 'BrokerLogs', {
      retention: stage.logRetentionDays,
      removalPolicy: stage.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    this.configuration = new msk.CfnConfiguration(this, 'Configuration', {
      name: `${props.clusterName}-brokers`,
      description: 'Durable acks=all, no unclean leader election, explicit topic defaults',
      kafkaVersionsList: [KAFKA_VERSION],
      serverProperties: Object.entries(brokerProperties(stage.kafka))
        .map(([key, value]) => `${key}=${value}`)
        .join('\n'),
    });

    this.cluster = new msk.CfnCluster(this, 'Resource', {
      clusterName: props.clusterName,
      kafkaVersion: KAFKA_VERSION,
      configurationInfo: {
        arn: this.configuration.attrArn,
        revision: this.configuration.attrLatestRevisionRevision,
      },
      numberOfBrokerNodes: stage.kafka.brokers,
      brokerNodeGroupInfo: {
        instanceType: stage.kafka.instanceType,
        clientSubnets: vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnetIds,
        securityGroups: [this.securityGroup.securityGroupId],
        storageInfo: { ebsStorageInfo: { volumeSize: stage.kafka.volumeSizeGiB } },
      },
      clientAuthentication: {
        sasl: { iam: { enabled: true } },
        unauthenticated: { enabled: false },
      },
      // At rest: the AWS-managed MSK key (no cross-account consumers; a CMK adds cost, not isolation).
      encryptionInfo: {
        encryptionInTransit: { clientBroker: 'TLS', inCluster: true },
      },
      // DEFAULT already publishes the consumer-lag metrics (MaxOffsetLag, SumOffsetLag) per group.
      enhancedMonitoring: 'DEFAULT',
      loggingInfo: {
        brokerLogs: { cloudWatchLogs: { enabled: true, logGroup: this.logGroup.logGroupName } },
      },
    });
    this.cluster.applyRemovalPolicy(stage.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY);
    this.clusterArn = this.cluster.attrArn;
  }

  /** The cluster UUID: the last part of `arn:…:cluster/<name>/<uuid>`. */
  private get clusterUuid(): string {
    return Fn.select(2, Fn.split('/', this.clusterArn));
  }

  private kafkaArn(resource: 'topic' | 'group', name: string): string {
    return Stack.of(this).formatArn({
      service: 'kafka',
      resource,
      resourceName: `${this.clusterName}/${this.clusterUuid}/${name}`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  /** IAM resource for one topic (kafka-cluster:*Topic*, ReadData, WriteData). */
  topicArn(topic: string): string {
    return this.kafkaArn('topic', topic);
  }

  /** IAM resource for one consumer group (kafka-cluster:DescribeGroup, AlterGroup). */
  groupArn(group: string): string {
    return this.kafkaArn('group', group);
  }
}
