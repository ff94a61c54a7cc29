import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { AppFunctionId, StageConfig } from '#infra/config/stages';
import { acknowledge } from '#infra/nag';

const ONE_MINUTE = Duration.minutes(1);

const DEPLOYMENT_CONFIGS: Readonly<
  Record<Exclude<StageConfig['deploys']['strategy'], 'none'>, codedeploy.ILambdaDeploymentConfig>
> = {
  canary10Percent5Minutes: codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES,
  linear10PercentEvery1Minute: codedeploy.LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_1MINUTE,
  allAtOnce: codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE,
};

export interface SafeDeploysProps {
  readonly stage: StageConfig;
  /** The CodeDeploy application's name (and the rollback alarms' prefix). */
  readonly name: string;
}

export interface RollbackOptions {
  /** The alias's p99 duration above which a shift is rolled back. */
  readonly durationP99Ms: number;
  /** Further alarms that stop the shift (the API's 5xx for the API's functions). */
  readonly alarms?: readonly cloudwatch.IAlarm[];
}

/**
 * CodeDeploy for the `live` aliases: one application, one deployment group per alias with the stage's
 * strategy and automatic rollback on the alias's own alarms — its error rate and its p99 duration over the
 * calls the alias served, whichever version served them (during a canary: mostly the old one, so the
 * thresholds are the stage's, not zero). A stage with strategy `none` gets neither.
 */
export class SafeDeploys extends Construct {
  readonly application?: codedeploy.LambdaApplication;
  readonly groups = new Map<AppFunctionId, codedeploy.LambdaDeploymentGroup>();
  readonly rollbackAlarms = new Map<AppFunctionId, cloudwatch.Alarm[]>();
  private readonly stage: StageConfig;
  private readonly name: string;

  constructor(scope: Construct, id: string, props: SafeDeploysProps) {
    super(scope, id);
    this.stage = props.stage;
    this.name = props.name;
    if (props.stage.deploys.strategy !== 'none') {
      this.application = new codedeploy.LambdaApplication(this, 'Application', {
        applicationName: props.name,
      });
    }
  }

  /** The deployment group that moves `alias` to each new version, with its rollback alarms. */
  guard(fnId: AppFunctionId, alias: lambda.Alias, options: RollbackOptions): void {
    const { strategy, rollbackErrorPercent } = this.stage.deploys;
    if (strategy === 'none' || !this.application) return;
    const errorRate = new cloudwatch.MathExpression({
      label: `${fnId} live error rate (%)`,
      expression: 'IF(invocations > 0, 100 * errors / invocations, 0)',
      usingMetrics: {
        errors: alias.metricErrors({ statistic: 'Sum', period: ONE_MINUTE }),
        invocations: alias.metricInvocations({ statistic: 'Sum', period: ONE_MINUTE }),
      },
      period: ONE_MINUTE,
    });
    const errors = errorRate.createAlarm(this, `${fnId}Errors`, {
      alarmName: `${this.name}-rollback-${fnId}-errors`,
      alarmDescription: `${fnId}: more than ${rollbackErrorPercent}% of the live alias's calls failed in a minute (rolls a deploy back)`,
      threshold: rollbackErrorPercent,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const latency = alias
      .metricDuration({ statistic: 'p99', period: ONE_MINUTE })
      .createAlarm(this, `${fnId}Latency`, {
        alarmName: `${this.name}-rollback-${fnId}-p99`,
        alarmDescription: `${fnId}: the live alias's p99 duration above ${options.durationP99Ms} ms for 2 minutes (rolls a deploy back)`,
        threshold: options.durationP99Ms,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    this.rollbackAlarms.set(fnId, [errors, latency]);
    const group = new codedeploy.LambdaDeploymentGroup(this, fnId, {
      application: this.application,
      alias,
      deploymentConfig: DEPLOYMENT_CONFIGS[strategy],
      alarms: [errors, latency, ...(options.alarms ?? [])],
      autoRollback: { failedDeployment: true, deploymentInAlarm: true, stoppedDeployment: true },
    });
    acknowledge(group, {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]',
      reason:
        'CodeDeploy for Lambda documents this managed service-role policy (alias read/update, alarm reads, ' +
        'hooks named CodeDeployHook_*); only codedeploy.amazonaws.com can assume the role',
    });
    this.groups.set(fnId, group);
  }
}
