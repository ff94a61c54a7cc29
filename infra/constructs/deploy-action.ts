import { CustomResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { StageConfig } from '#infra/config/stages';
import type { AppFunction } from '#infra/constructs/app-function';
import { acknowledge, arnToken, REASONS } from '#infra/nag';

/**
 * The runtime CDK's Provider framework function gets on the LocalStack target: CDK gives it the newest
 * Node.js runtime (nodejs24.x), which the pinned `localstack/localstack:4.4` image (localstack-compose.yml)
 * does not run; its plain CommonJS handler runs the same on Node 22, the runtime of our own functions.
 */
export const LOCALSTACK_PROVIDER_RUNTIME = lambda.Runtime.NODEJS_22_X;

export interface DeployActionProps {
  readonly stage: StageConfig;
  /** The deploy function (from `deployFunctions`) that does the work as the Provider's onEvent handler. */
  readonly handler: AppFunction;
  readonly resourceType: `Custom::${string}`;
  /** Passed to the handler as ResourceProperties; a change to any value re-runs it on the next deploy. */
  readonly properties: Record<string, string | number>;
  readonly timeout?: Duration;
}

/**
 * A CloudFormation custom resource backed by `custom-resources.Provider`: the framework function
 * (outside the VPC, it answers CloudFormation) invokes the deploy function (inside the VPC, it
 * reaches the database or the cluster).
 */
export class DeployAction extends Construct {
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: DeployActionProps) {
    super(scope, id);

    const logGroup = new logs.LogGroup(this, 'ProviderLogs', {
      retention: props.stage.logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Own role instead of the default one with AWSLambdaBasicExecutionRole: logs to this group only.
    const role = new iam.Role(this, 'ProviderRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Provider framework for ${props.resourceType}`,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );

    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: props.handler.fn,
      logGroup,
      frameworkOnEventRole: role,
    });

    if (props.stage.target === 'localstack') {
      const framework = provider.node.findChild('framework-onEvent') as lambda.Function;
      (framework.node.defaultChild as lambda.CfnFunction).runtime = LOCALSTACK_PROVIDER_RUNTIME.name;
      acknowledge(framework, {
        id: 'AwsSolutions-L1',
        reason:
          'On the LocalStack stage only: the pinned LocalStack image runs nodejs22.x, not the nodejs24.x CDK ' +
          'picks for its provider framework; the AWS stages keep CDK’s newest runtime',
      });
    }

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: props.resourceType,
      properties: props.properties,
      serviceTimeout: props.timeout ?? Duration.minutes(10),
    });
    // The handler's security-group rules and grants are children of the AppFunction: wait for all.
    this.resource.node.addDependency(props.handler);

    const handlerArn = arnToken(props.handler.fn.node.defaultChild as lambda.CfnFunction);
    acknowledge(role, { id: `AwsSolutions-IAM5[Resource::${handlerArn}:*]`, reason: REASONS.providerInvoke });
  }
}
