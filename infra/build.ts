import { App, type AppProps, Tags, Validations } from 'aws-cdk-lib';
import recommendedFeatureFlags from 'aws-cdk-lib/recommended-feature-flags.json' with { type: 'json' };
import { AwsSolutionsChecks } from 'cdk-nag';
import type { StageConfig } from '#infra/config/stages';
import { NetworkStack } from '#infra/stacks/network.stack';
import { ObservabilityStack } from '#infra/stacks/observability.stack';
import { StatefulStack } from '#infra/stacks/stateful.stack';
import { StatelessStack } from '#infra/stacks/stateless.stack';

export interface TrafficManagerStacks {
  /** Absent on the LocalStack target. */
  readonly network?: NetworkStack;
  readonly stateful: StatefulStack;
  readonly stateless: StatelessStack;
  readonly observability: ObservabilityStack;
}

/** The feature flag that picks `Fn::ImportValue` (strong) or `Fn::GetStackOutput` (weak) between our stacks. */
export const CROSS_STACK_REFERENCES = '@aws-cdk/core:defaultCrossStackReferences';

export const crossStackReferencesFor = (stage: StageConfig): 'weak' | 'strong' =>
  stage.target === 'localstack' ? 'strong' : 'weak';

const withoutCrossStackReferences = (flags: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(flags).filter(([key]) => key !== CROSS_STACK_REFERENCES));

/**
 * The App with the feature flags `cdk init` would write: kept here rather than in cdk.json so that the
 * CLI and the tests synthesize with the same flags. CLI context (`-c`, cdk.json) still wins.
 */
export const createApp = (props: AppProps = {}): App =>
  new App({
    ...props,
    context: {
      // Without the reference strength, which buildTrafficManager picks per target.
      ...withoutCrossStackReferences(recommendedFeatureFlags),
      ...props.context,
    },
  });

/** cdk-nag AwsSolutions as a synth-time validation: an unacknowledged finding fails `cdk synth`. */
export const addNagChecks = (app: App): AwsSolutionsChecks => {
  const checks = new AwsSolutionsChecks(app);
  Validations.of(app).addPlugins(checks);
  return checks;
};

/** Stacks split by lifecycle: network ← stateful ← stateless ← observability. */
export const buildTrafficManager = (app: App, stage: StageConfig): TrafficManagerStacks => {
  const prefix = `TrafficManager-${stage.name}`;
  // Cross-stack references without exports (Fn::GetStackOutput): an export cannot change while imported,
  // so replacing a store or a function took two deploys. The LocalStack stage keeps classic exports: the
  // pinned LocalStack 4.4 predates Fn::GetStackOutput. CLI context (`-c`) still wins.
  if (app.node.tryGetContext(CROSS_STACK_REFERENCES) === undefined) {
    app.node.setContext(CROSS_STACK_REFERENCES, crossStackReferencesFor(stage));
  }
  // Env-agnostic unless the stage pins a region (prod: three named AZs); the account is never pinned, so
  // synth needs no credentials or lookups either way.
  const placement = stage.network.placement;
  const env = placement ? { env: { region: placement.region } } : {};
  const common = { terminationProtection: stage.protectData, ...env };
  Tags.of(app).add('project', 'traffic-manager');
  Tags.of(app).add('stage', stage.name);

  const network =
    stage.target === 'aws'
      ? new NetworkStack(app, `${prefix}-Network`, {
          ...common,
          stage,
          description: 'Traffic Manager: VPC, subnets, endpoints',
        })
      : undefined;
  const stateful = new StatefulStack(app, `${prefix}-Stateful`, {
    ...common,
    stage,
    vpc: network?.vpc,
    description: 'Traffic Manager: databases, cache, Kafka, queue, idempotency table',
  });
  const stateless = new StatelessStack(app, `${prefix}-Stateless`, {
    ...env,
    stage,
    stateful,
    vpc: network?.vpc,
    description: 'Traffic Manager: functions, REST API, consumers, schedule, deploy actions',
  });
  const observability = new ObservabilityStack(app, `${prefix}-Observability`, {
    ...env,
    stage,
    stateful,
    stateless,
    description: 'Traffic Manager: dashboard and alarms',
  });
  return { network, stateful, stateless, observability };
};
