import type { CfnElement } from 'aws-cdk-lib';
import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

export interface NagAcknowledgement {
  /** A cdk-nag rule id, with the finding in brackets where the rule reports several. */
  readonly id: string;
  /** Why the finding is acceptable here: specific to this resource, never "not needed". */
  readonly reason: string;
}

/**
 * Acknowledges cdk-nag findings on one construct (and its children), never on an app or a whole
 * stack: each acknowledgement sits next to the resource it is about.
 */
export const acknowledge = (scope: IConstruct, ...acks: readonly NagAcknowledgement[]): void => {
  Validations.of(scope).acknowledge(...acks);
};

/** The `<LogicalId.Arn>` token cdk-nag prints for a GetAtt Arn inside an IAM5 finding. */
export const arnToken = (element: CfnElement): string => `<${Stack.of(element).getLogicalId(element)}.Arn>`;

/** Reasons used in more than one place, so the docs and the code say the same thing. */
export const REASONS = {
  xray: 'X-Ray PutTraceSegments/PutTelemetryRecords do not support resource-level permissions: AWS requires Resource "*"',
  vpcEni:
    'Lambda creates and deletes its VPC ENIs with ec2:CreateNetworkInterface/DescribeNetworkInterfaces/' +
    'DescribeSubnets/DeleteNetworkInterface/Assign|UnassignPrivateIpAddresses, which AWS documents with Resource "*"',
  mskEsmEni:
    'The MSK event source mapping resolves the cluster network with ec2:DescribeVpcs/DescribeSubnets/' +
    'DescribeSecurityGroups and manages its ENIs; these Describe actions have no resource-level permissions',
  runtime:
    'nodejs22.x is the house runtime, matching the esbuild target (node22) the bundles are built for; ' +
    'nodejs24.x is a deliberate upgrade of runtime and target together, not a drift',
  providerInvoke:
    'The Provider framework invokes exactly one handler; grantInvoke adds the ":*" form so every version/alias ' +
    'of that one function is covered',
  tokenAuthorizer:
    'Callers are services, not people: they authenticate with tenant-scoped API tokens that the Lambda REQUEST ' +
    'authorizer checks (role per route, cached per token), see docs/security.md; a Cognito user pool would ' +
    'add a second identity system without tenant scopes',
  publicHealth:
    'The /health routes (for uptime probes and load balancers) and /openapi.json (the API description) are ' +
    'public by design; they return no tenant data',
} as const;
