import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { StageConfig } from '#infra/config/stages';
import type { MskCluster } from '#infra/constructs/msk-cluster';

/** The custom resource type (the local cloud maps it: scripts/cloud/local-resources.ts). */
export const BOOTSTRAP_BROKERS_RESOURCE_TYPE = 'Custom::MskBootstrapBrokers';
/** GetBootstrapBrokers' field for the SASL/IAM listeners (port 9098), the one our clients use. */
export const IAM_BROKERS_FIELD = 'BootstrapBrokerStringSaslIam';

export interface MskBootstrapBrokersProps {
  readonly stage: StageConfig;
  readonly cluster: MskCluster;
}

/**
 * The cluster's IAM bootstrap brokers, looked up once per deploy by CloudFormation (CDK's AwsCustomResource
 * calls Kafka GetBootstrapBrokers from outside the VPC) and handed to the functions as KAFKA_BROKERS: no MSK
 * control-plane call at cold start, and no `kafka` interface endpoint in the VPC. The lookup re-runs when the
 * cluster or its broker count changes (both are in the physical id); broker host names are stable for the
 * cluster's life, so a list from an earlier deploy stays valid.
 */
export class MskBootstrapBrokers extends Construct {
  /** Comma-separated host:port list (a GetAtt token). */
  readonly iamBrokers: string;
  readonly resource: cr.AwsCustomResource;

  constructor(scope: Construct, id: string, props: MskBootstrapBrokersProps) {
    super(scope, id);
    const { stage, cluster } = props;

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: stage.logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Own role instead of the default one with AWSLambdaBasicExecutionRole: logs to this group only.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Looks up the MSK bootstrap brokers at deploy time',
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );

    const call: cr.AwsSdkCall = {
      service: 'Kafka',
      action: 'getBootstrapBrokers',
      parameters: { ClusterArn: cluster.clusterArn },
      physicalResourceId: cr.PhysicalResourceId.of(`${cluster.clusterName}/brokers-${stage.kafka.brokers}`),
      outputPaths: [IAM_BROKERS_FIELD],
    };
    this.resource = new cr.AwsCustomResource(this, 'Resource', {
      resourceType: BOOTSTRAP_BROKERS_RESOURCE_TYPE,
      onCreate: call,
      onUpdate: call,
      role,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['kafka:GetBootstrapBrokers'], resources: [cluster.clusterArn] }),
      ]),
      logGroup,
      // The runtime's SDK has the Kafka client: no npm install during the deploy.
      installLatestAwsSdk: false,
    });
    this.iamBrokers = this.resource.getResponseField(IAM_BROKERS_FIELD);
  }
}
