import type { Assembly, CfnResource, StackArtifact } from './assembly.ts';
import {
  type ResolveContext,
  type ResourceMap,
  referencedIds,
  resolveValue,
  UnresolvableError,
} from './intrinsics.ts';
import { applyTransportOverrides, PSEUDO_PARAMETERS } from './local-resources.ts';

/** One AWS::Lambda::Function as the template declares it, its environment resolved for this machine. */
export interface TemplateFunction {
  readonly stack: StackArtifact;
  readonly logicalId: string;
  readonly name: string;
  readonly handler: string;
  readonly runtime: string;
  readonly timeoutMs: number;
  readonly memoryMb: number;
  readonly reservedConcurrency: number | undefined;
  readonly assetDir: string;
  readonly environment: Readonly<Record<string, string>>;
}

/** CDK's AwsCustomResource singleton: `AWS` + its PROVIDER_FUNCTION_UUID without dashes, then a hash. */
const AWS_CUSTOM_RESOURCE_FUNCTION = /^AWS679f53fac002430cb0da5b7982bd2287/;

/**
 * CDK's own functions, not ours: the custom-resource Provider's framework function (locally the cloud
 * plays its part: it invokes our deploy function with the same event), CDK's built-in custom resource
 * handlers (e.g. the VPC's default security group restriction), which only configure AWS resources, and the
 * AwsCustomResource function, whose one SDK call (the MSK bootstrap brokers) the resource map answers.
 */
export const isCdkInternal = (resource: CfnResource, logicalId = ''): boolean =>
  resource.Properties?.Handler === 'framework.onEvent' ||
  resource.Properties?.Handler === '__entrypoint__.handler' ||
  AWS_CUSTOM_RESOURCE_FUNCTION.test(logicalId);

export const contextFor = (
  assembly: Assembly,
  stack: StackArtifact,
  resources: ResourceMap,
  secretValue: ResolveContext['secretValue'],
): ResolveContext => ({ assembly, stack, resources, pseudo: PSEUDO_PARAMETERS, secretValue });

/**
 * Every application function of the assembly. A variable the map cannot resolve stops the start with an
 * error naming the function and the variable (all of them, not just the first).
 */
export const templateFunctions = (
  assembly: Assembly,
  resources: ResourceMap,
  secretValue: ResolveContext['secretValue'],
): TemplateFunction[] => {
  const functions: TemplateFunction[] = [];
  const problems: string[] = [];
  for (const stack of assembly.stacks) {
    const ctx = contextFor(assembly, stack, resources, secretValue);
    for (const [logicalId, resource] of Object.entries(stack.template.Resources)) {
      if (resource.Type !== 'AWS::Lambda::Function' || isCdkInternal(resource, logicalId)) continue;
      const p = resource.Properties ?? {};
      const name = resources(stack, logicalId, resource).ref ?? logicalId;
      const env: Record<string, string> = {};
      const vars = ((p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
        {}) as Record<string, unknown>;
      for (const [key, value] of Object.entries(vars)) {
        try {
          env[key] = resolveValue(value, ctx);
        } catch (err) {
          if (!(err instanceof UnresolvableError)) throw err;
          problems.push(`${logicalId} (${stack.stackName}): ${key}: ${err.message}`);
        }
      }
      const code = p.Code as { S3Key?: string } | undefined;
      if (!code?.S3Key) {
        problems.push(`${logicalId}: Code has no S3Key (inline code is not run locally)`);
        continue;
      }
      functions.push({
        stack,
        logicalId,
        name,
        handler: String(p.Handler),
        runtime: String(p.Runtime),
        timeoutMs: Number(p.Timeout ?? 3) * 1000,
        memoryMb: Number(p.MemorySize ?? 128),
        reservedConcurrency:
          p.ReservedConcurrentExecutions === undefined ? undefined : Number(p.ReservedConcurrentExecutions),
        assetDir: assembly.assetDir(code.S3Key),
        environment: applyTransportOverrides(env),
      });
    }
  }
  if (problems.length > 0) {
    throw new Error(`the local cloud cannot resolve the template:\n  ${problems.join('\n  ')}`);
  }
  return functions;
};

/**
 * The logical id of the function a value invokes: `Fn::GetAtt [<fn>, Arn]`, or the `Ref`/`Fn::GetAtt` of an
 * alias or version of it (the live alias the API, the authorizer and the schedule invoke). Locally an alias
 * is its function: one version runs, the one the bundle holds.
 */
export const functionIdIn = (value: unknown, stack: StackArtifact): string | undefined => {
  for (const id of referencedIds(value ?? null)) {
    const fnId = functionBehind(id, stack, 0);
    if (fnId) return fnId;
  }
  return undefined;
};

const functionBehind = (logicalId: string, stack: StackArtifact, depth: number): string | undefined => {
  const resource = stack.template.Resources[logicalId];
  if (resource?.Type === 'AWS::Lambda::Function') return logicalId;
  if (depth > 2 || (resource?.Type !== 'AWS::Lambda::Alias' && resource?.Type !== 'AWS::Lambda::Version')) {
    return undefined;
  }
  const [target] = referencedIds(resource.Properties?.FunctionName);
  return target ? functionBehind(target, stack, depth + 1) : undefined;
};
