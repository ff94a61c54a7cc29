import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { stages } from '#infra/config/stages';
import { INTERFACE_ENDPOINTS } from '#infra/stacks/network.stack';
import { resourcesOf, synthStage } from './synth.ts';

const network = (stage: 'dev' | 'prod') => {
  const { stacks, template } = synthStage(stage);
  if (!stacks.network) throw new Error(`${stage} has no network stack`);
  return template(stacks.network);
};

describe('network stack', () => {
  it('creates private isolated subnets only, with no internet or NAT gateway', () => {
    const template = network('dev');

    template.resourceCountIs('AWS::EC2::Subnet', 2);
    template.allResourcesProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: stages.dev.network.cidr });
  });

  it('creates the DynamoDB gateway endpoint and one interface endpoint per AWS API the functions use', () => {
    const template = network('dev');

    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['.dynamodb'])]) }),
    });
    const interfaces = resourcesOf(template, 'AWS::EC2::VPCEndpoint').filter(
      ([, r]) => r.Properties?.VpcEndpointType === 'Interface',
    );
    const services = interfaces.map(([, r]) => JSON.stringify(r.Properties?.ServiceName)).sort();
    expect(services).toHaveLength(Object.keys(INTERFACE_ENDPOINTS).length);
    for (const name of ['secretsmanager', 'sqs', 'lambda', 'sts', 'xray']) {
      expect(
        services.some((s) => s.includes(`.${name}`)),
        name,
      ).toBe(true);
    }
    // The bootstrap brokers are resolved at deploy time: no MSK control-plane endpoint (whose
    // com.amazonaws.<region>.kafka name no longer accepts new connections).
    expect(services.filter((s) => /\.kafka/.test(s))).toEqual([]);
    // Nothing in the VPC calls CloudWatch Logs or PutMetricData: Lambda delivers function output itself.
    expect(services.filter((s) => /\.(logs|monitoring)/.test(s))).toEqual([]);
    for (const [, endpoint] of interfaces) expect(endpoint.Properties?.PrivateDnsEnabled).toBe(true);
  });

  it('admits only HTTPS from inside the VPC to the interface endpoints', () => {
    const template = network('dev');

    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'Interface endpoints: HTTPS from inside the VPC only',
      SecurityGroupIngress: [
        Match.objectLike({ CidrIp: stages.dev.network.cidr, FromPort: 443, ToPort: 443, IpProtocol: 'tcp' }),
      ],
    });
  });

  it('places dev endpoints in one AZ and prod endpoints in every AZ', () => {
    const subnetCount = (stage: 'dev' | 'prod') =>
      resourcesOf(network(stage), 'AWS::EC2::VPCEndpoint')
        .filter(([, r]) => r.Properties?.VpcEndpointType === 'Interface')
        .map(([, r]) => (r.Properties?.SubnetIds as unknown[] | undefined)?.length);

    expect(new Set(subnetCount('dev'))).toEqual(new Set([1]));
    expect(new Set(subnetCount('prod'))).toEqual(new Set([3]));
  });

  it('spans three named AZs in prod (its region pinned) and two env-agnostic AZs in dev', () => {
    const azs = (stage: 'dev' | 'prod') =>
      resourcesOf(network(stage), 'AWS::EC2::Subnet').map(([, r]) => r.Properties?.AvailabilityZone);

    expect(azs('prod').sort()).toEqual(stages.prod.network.placement?.availabilityZones);
    expect(synthStage('prod').stacks.network?.region).toBe(stages.prod.network.placement?.region);
    // Every prod stack in the one region (cross-stack references need it).
    for (const stack of Object.values(synthStage('prod').stacks))
      expect(stack.region).toBe(stages.prod.network.placement?.region);
    expect(azs('dev')).toHaveLength(2);
    expect(JSON.stringify(azs('dev'))).toContain('Fn::GetAZs');
  });

  it('logs rejected flows in dev and all flows in prod', () => {
    network('dev').hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT' });
    network('prod').hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL' });
  });

  it('has no network stack on the LocalStack target', () => {
    expect(synthStage('localstack').stacks.network).toBeUndefined();
  });
});
