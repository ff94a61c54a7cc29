import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { StageConfig } from '#infra/config/stages';

export interface NetworkStackProps extends StackProps {
  readonly stage: StageConfig;
}

/**
 * Services the functions (and the MSK event source mappings, RDS Proxy and secret rotation) reach
 * over interface endpoints: the VPC has no internet gateway and no NAT.
 */
export const INTERFACE_ENDPOINTS = {
  SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  Sqs: ec2.InterfaceVpcEndpointAwsService.SQS,
  // The MSK event source mapping needs Lambda and STS inside the cluster VPC when there is no NAT.
  Lambda: ec2.InterfaceVpcEndpointAwsService.LAMBDA,
  Sts: ec2.InterfaceVpcEndpointAwsService.STS,
  XRay: ec2.InterfaceVpcEndpointAwsService.XRAY,
} as const;
// No CloudWatch Logs or monitoring endpoint: Lambda ships function output (EMF metrics included) itself, and
// nothing in the VPC calls PutMetricData or the Logs API (docs/deploying.md).

/** Longest-lived layer: the VPC, its private subnets and endpoints, and the flow log. */
export class NetworkStack extends Stack {
  readonly vpc: ec2.Vpc;
  readonly endpointSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    const { stage } = props;

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(stage.network.cidr),
      ...(stage.network.placement
        ? { availabilityZones: [...stage.network.placement.availabilityZones] }
        : { maxAzs: 2 }),
      natGateways: 0,
      subnetConfiguration: [{ name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 20 }],
      restrictDefaultSecurityGroup: true,
    });

    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: stage.logRetentionDays,
      removalPolicy: stage.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
      trafficType: ec2.FlowLogTrafficType[stage.network.flowLogTraffic],
    });

    // Gateway endpoints are free and need no security group.
    this.vpc.addGatewayEndpoint('DynamoDb', { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB });

    this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      allowAllOutbound: false,
      description: 'Interface endpoints: HTTPS from inside the VPC only',
    });
    this.endpointSecurityGroup.addIngressRule(
      ec2.Peer.ipv4(stage.network.cidr),
      ec2.Port.tcp(443),
      'HTTPS from the VPC',
    );

    const isolated = this.vpc.isolatedSubnets;
    const endpointSubnets: ec2.SubnetSelection = stage.network.endpointsInEveryAz
      ? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }
      : { subnets: isolated.slice(0, 1) };
    for (const [name, service] of Object.entries(INTERFACE_ENDPOINTS)) {
      this.vpc.addInterfaceEndpoint(name, {
        service,
        privateDnsEnabled: true,
        subnets: endpointSubnets,
        securityGroups: [this.endpointSecurityGroup],
        open: false,
      });
    }
  }
}
