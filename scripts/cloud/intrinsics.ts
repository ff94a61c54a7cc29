import type { Assembly, CfnResource, StackArtifact } from './assembly.ts';

/** What a logical resource is locally: its `Ref` value and its `Fn::GetAtt` attributes. */
export interface LocalResource {
  readonly ref?: string;
  readonly attrs?: Readonly<Record<string, string>>;
}

/** The one explicit map from the template's resources to local things (scripts/cloud/local-resources.ts). */
export type ResourceMap = (stack: StackArtifact, logicalId: string, resource: CfnResource) => LocalResource;

export class UnresolvableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnresolvableError';
  }
}

export interface ResolveContext {
  readonly assembly: Assembly;
  readonly stack: StackArtifact;
  readonly resources: ResourceMap;
  readonly pseudo: Readonly<Record<string, string>>;
  /** `{{resolve:secretsmanager:<id>:SecretString:<key>}}` references. */
  readonly secretValue: (secretId: string, key: string | undefined) => string;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const resourceIn = (ctx: ResolveContext, logicalId: string): CfnResource => {
  const resource = ctx.stack.template.Resources[logicalId];
  if (!resource) throw new UnresolvableError(`${ctx.stack.stackName} has no resource ${logicalId}`);
  return resource;
};

const ref = (ctx: ResolveContext, name: string): string => {
  if (name in ctx.pseudo) return ctx.pseudo[name]!;
  if (name === 'AWS::StackName') return ctx.stack.stackName;
  const local = ctx.resources(ctx.stack, name, resourceIn(ctx, name));
  if (local.ref === undefined) {
    throw new UnresolvableError(`Ref ${name} (${resourceIn(ctx, name).Type}) has no local value`);
  }
  return local.ref;
};

const getAtt = (ctx: ResolveContext, logicalId: string, attr: string): string => {
  const resource = resourceIn(ctx, logicalId);
  const value = ctx.resources(ctx.stack, logicalId, resource).attrs?.[attr];
  if (value === undefined) {
    throw new UnresolvableError(`Fn::GetAtt ${logicalId}.${attr} (${resource.Type}) has no local value`);
  }
  return value;
};

const importValue = (ctx: ResolveContext, name: string): string => {
  for (const stack of ctx.assembly.stacks) {
    for (const output of Object.values(stack.template.Outputs ?? {})) {
      if (output.Export?.Name === name) return resolveValue(output.Value, { ...ctx, stack });
    }
  }
  throw new UnresolvableError(`Fn::ImportValue ${name}: no stack exports it`);
};

/** A weak cross-stack reference: another stack's output by name, no export needed (same account here). */
const getStackOutput = (ctx: ResolveContext, arg: unknown): string => {
  if (!isRecord(arg))
    throw new UnresolvableError(`Fn::GetStackOutput needs an object, got ${JSON.stringify(arg)}`);
  const stackName = resolveValue(arg.StackName, ctx);
  const outputName = resolveValue(arg.OutputName, ctx);
  const stack = ctx.assembly.stacks.find((s) => s.stackName === stackName);
  const output = stack?.template.Outputs?.[outputName];
  if (!stack || !output) {
    throw new UnresolvableError(`Fn::GetStackOutput ${stackName}.${outputName}: no such stack output`);
  }
  return resolveValue(output.Value, { ...ctx, stack });
};

const DYNAMIC_REFERENCE = /\{\{resolve:secretsmanager:([^}]+)\}\}/g;

/** `{{resolve:secretsmanager:arn-or-name:SecretString:key::}}` inside a string. */
const dynamicReferences = (ctx: ResolveContext, text: string): string =>
  text.replace(DYNAMIC_REFERENCE, (_, body: string) => {
    const m = /^(.*?)(?::SecretString(?::([^:]*))?(?::[^:]*){0,2})?$/.exec(body);
    if (!m?.[1])
      throw new UnresolvableError(`unreadable dynamic reference {{resolve:secretsmanager:${body}}}`);
    return ctx.secretValue(m[1], m[2] || undefined);
  });

const sub = (ctx: ResolveContext, template: string, vars: Record<string, unknown>): string =>
  template.replace(/\$\{([^}!][^}]*)\}/g, (_, name: string) => {
    if (name in vars) return resolveValue(vars[name], ctx);
    const dot = name.indexOf('.');
    if (dot > 0 && !name.startsWith('AWS::')) return getAtt(ctx, name.slice(0, dot), name.slice(dot + 1));
    return ref(ctx, name);
  });

/**
 * Resolves a template value to a string as CloudFormation would at deploy time, with the local values of
 * resources and pseudo parameters. Anything else is an UnresolvableError naming what could not be resolved.
 */
export const resolveValue = (value: unknown, ctx: ResolveContext): string => {
  if (typeof value === 'string') return dynamicReferences(ctx, value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (!isRecord(value)) throw new UnresolvableError(`cannot resolve ${JSON.stringify(value)}`);
  const [fn, arg] = Object.entries(value)[0] ?? [];
  switch (fn) {
    case 'Ref':
      return ref(ctx, String(arg));
    case 'Fn::GetAtt': {
      const [id, ...attr] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
      return getAtt(ctx, id!, attr.join('.'));
    }
    case 'Fn::ImportValue':
      return importValue(ctx, resolveValue(arg, ctx));
    case 'Fn::GetStackOutput':
      return getStackOutput(ctx, arg);
    // Dynamic references are resolved in the finished string, as CloudFormation does: CDK builds
    // `{{resolve:secretsmanager:<arn>:SecretString:password::}}` with Fn::Join around the secret's ARN.
    case 'Fn::Join': {
      const [sep, parts] = arg as [string, unknown[]];
      return dynamicReferences(ctx, parts.map((p) => resolveValue(p, ctx)).join(sep));
    }
    case 'Fn::Sub':
      return dynamicReferences(
        ctx,
        Array.isArray(arg)
          ? sub(ctx, String(arg[0]), (arg[1] ?? {}) as Record<string, unknown>)
          : sub(ctx, String(arg), {}),
      );
    case 'Fn::Select': {
      const [index, list] = arg as [unknown, unknown];
      const items = Array.isArray(list) ? list.map((i) => resolveValue(i, ctx)) : splitOf(list, ctx);
      const item = items[Number(resolveValue(index, ctx))];
      if (item === undefined)
        throw new UnresolvableError(`Fn::Select index out of range in ${JSON.stringify(value)}`);
      return item;
    }
    default:
      throw new UnresolvableError(`unsupported intrinsic ${fn ?? '(none)'} in ${JSON.stringify(value)}`);
  }
};

const splitOf = (value: unknown, ctx: ResolveContext): string[] => {
  if (isRecord(value) && 'Fn::Split' in value) {
    const [sep, source] = value['Fn::Split'] as [string, unknown];
    return resolveValue(source, ctx).split(sep);
  }
  throw new UnresolvableError(`Fn::Select needs a list or Fn::Split, got ${JSON.stringify(value)}`);
};

/** The logical id a value refers to (`Ref` or `Fn::GetAtt`), searched through nested intrinsics. */
export const referencedIds = (value: unknown): string[] => {
  if (Array.isArray(value)) return value.flatMap(referencedIds);
  if (!isRecord(value)) return [];
  // Pseudo parameters (a weak reference's `Region: {Ref: AWS::Region}`) name no resource.
  if (typeof value.Ref === 'string') return value.Ref.startsWith('AWS::') ? [] : [value.Ref];
  const att = value['Fn::GetAtt'];
  if (Array.isArray(att)) return [String(att[0])];
  return Object.values(value).flatMap(referencedIds);
};
