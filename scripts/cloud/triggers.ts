import type { StackArtifact } from './assembly.ts';
import { type ResolveContext, referencedIds, resolveValue } from './intrinsics.ts';
import { functionIdIn } from './template-functions.ts';

/** An AWS::Lambda::EventSourceMapping on an MSK topic, with the settings the local poller honours. */
export interface KafkaMapping {
  readonly logicalId: string;
  readonly functionId: string;
  readonly clusterArn: string;
  readonly topic: string;
  readonly consumerGroup: string;
  readonly batchSize: number;
  /** MaximumBatchingWindowInSeconds in ms; absent in the template, MSK's default (500 ms). */
  readonly batchingWindowMs: number;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  readonly retryAttempts: number | undefined;
  readonly bisect: boolean;
  /** The resolved on-failure destination (an SQS queue ARN), if any. */
  readonly onFailure: string | undefined;
}

/** An AWS::Events::Rule with a `rate(…)` schedule targeting one of our functions. */
export interface Schedule {
  readonly logicalId: string;
  readonly functionId: string;
  readonly everyMs: number;
  readonly expression: string;
}

/** A custom resource whose Provider's onEvent function is one of ours. */
export interface DeployAction {
  readonly logicalId: string;
  readonly resourceType: string;
  readonly functionId: string;
  readonly properties: Record<string, unknown>;
}

type Props = Record<string, unknown>;

/** An MSK event source mapping created without MaximumBatchingWindowInSeconds gathers for 500 ms. */
const MSK_DEFAULT_BATCHING_WINDOW_MS = 500;

export const kafkaMappings = (stack: StackArtifact, ctx: ResolveContext): KafkaMapping[] =>
  Object.entries(stack.template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::EventSourceMapping')
    .map(([logicalId, r]) => {
      const p = r.Properties as Props;
      // `<name>` or, for the live alias, `<name from the alias ARN>:live`.
      const functionId = functionIdIn(p.FunctionName, stack);
      const topics = p.Topics as string[] | undefined;
      const group = (p.AmazonManagedKafkaEventSourceConfig as Props | undefined)?.ConsumerGroupId;
      if (!functionId || !topics?.[0] || typeof group !== 'string') {
        throw new Error(`event source mapping ${logicalId}: only MSK mappings with a consumer group are run`);
      }
      const destination = ((p.DestinationConfig as Props | undefined)?.OnFailure as Props | undefined)
        ?.Destination;
      return {
        logicalId,
        functionId,
        clusterArn: resolveValue(p.EventSourceArn, ctx),
        topic: topics[0],
        consumerGroup: group,
        batchSize: Number(p.BatchSize ?? 100),
        batchingWindowMs:
          p.MaximumBatchingWindowInSeconds === undefined
            ? MSK_DEFAULT_BATCHING_WINDOW_MS
            : Number(p.MaximumBatchingWindowInSeconds) * 1000,
        startingPosition: p.StartingPosition === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON',
        retryAttempts: p.MaximumRetryAttempts === undefined ? undefined : Number(p.MaximumRetryAttempts),
        bisect: p.BisectBatchOnFunctionError === true,
        onFailure: destination === undefined ? undefined : resolveValue(destination, ctx),
      };
    });

const UNIT_MS: Record<string, number> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
};

export const schedules = (stack: StackArtifact): Schedule[] =>
  Object.entries(stack.template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Events::Rule')
    .flatMap(([logicalId, r]) => {
      const p = r.Properties as Props;
      const expression = String(p.ScheduleExpression ?? '');
      const m = /^rate\((\d+) (minutes?|hours?)\)$/.exec(expression);
      if (!m) throw new Error(`rule ${logicalId}: only rate(…) schedules are run locally, not ${expression}`);
      return ((p.Targets ?? []) as Props[]).map((target) => {
        const functionId = functionIdIn(target.Arn, stack);
        if (!functionId) throw new Error(`rule ${logicalId}: its target is not a function of this stack`);
        return { logicalId, functionId, everyMs: Number(m[1]) * UNIT_MS[m[2]!]!, expression };
      });
    });

/**
 * Custom resources whose Provider framework names one of our functions as its onEvent handler, in template
 * order. CDK's built-in custom resources (their token is CDK's own handler) configure AWS only: skipped.
 */
export const deployActions = (stack: StackArtifact): DeployAction[] =>
  Object.entries(stack.template.Resources)
    .filter(([, r]) => r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource')
    .flatMap(([logicalId, r]) => {
      const { ServiceToken, ...properties } = r.Properties as Props;
      const [frameworkId] = referencedIds(ServiceToken);
      const framework = frameworkId ? stack.template.Resources[frameworkId] : undefined;
      const userFn = (framework?.Properties?.Environment as { Variables?: Props } | undefined)?.Variables
        ?.USER_ON_EVENT_FUNCTION_ARN;
      const functionId = functionIdIn(userFn, stack);
      return functionId ? [{ logicalId, resourceType: r.Type, functionId, properties }] : [];
    });
