import { join } from 'node:path';
import { build } from 'esbuild';
import {
  authorizerFunctions,
  consumerFunctions,
  deployFunctions,
  type LambdaFunctionSpec,
  lambdaFunctions,
  operatorFunctions,
  scheduledFunctions,
} from '#functions/route-table';
import { LAMBDA_MODULE_ALIASES } from '#infra/bundling';
import type { AppFunctionId } from '#infra/config/stages';
import { REPO_ROOT } from '#infra/paths';
import { type Binding, type Bindings, bindingsOf } from '#shared/config/bindings';

export const FUNCTION_SPECS: Readonly<Record<AppFunctionId, LambdaFunctionSpec>> = {
  ...lambdaFunctions,
  ...authorizerFunctions,
  ...operatorFunctions,
  ...consumerFunctions,
  ...scheduledFunctions,
  ...deployFunctions,
};

/**
 * Which project modules mean which binding: the adapters and composition modules that open a client to
 * the resource (or, for the consumer, that take MSK events). A module a bundle contains is a module the
 * function's cold start evaluates, so reaching one is using the binding. `anyOf`: the Kafka client is
 * shared by the producers, the topic admin and the readiness probe.
 */
export const USE_RULES: readonly { readonly module: RegExp; readonly anyOf: readonly Binding[] }[] = [
  { module: /^shared\/adapters\/postgres\//, anyOf: ['database'] },
  { module: /^shared\/composition\/clients\.ts$/, anyOf: ['database'] },
  {
    module: /^shared\/adapters\/cache\/(route-cache\.(redis|upstash)|rate-limiter\.redis)\.ts$/,
    anyOf: ['cache'],
  },
  { module: /^shared\/composition\/(cache|route-cache)-clients\.ts$/, anyOf: ['cache'] },
  { module: /^shared\/adapters\/kafka\/event-publisher\.kafka\.ts$/, anyOf: ['kafkaProducer'] },
  { module: /^shared\/adapters\/kafka\/topic-admin\.kafka\.ts$/, anyOf: ['kafkaAdmin'] },
  {
    module: /^shared\/adapters\/kafka\/kafka-client\.kafka\.ts$/,
    anyOf: ['kafkaProducer', 'kafkaAdmin', 'kafkaProbe'],
  },
  { module: /^shared\/middleware\/msk-handler\.ts$/, anyOf: ['kafkaConsumer'] },
  { module: /^shared\/adapters\/mongo\//, anyOf: ['auditStore'] },
  { module: /^shared\/composition\/audit-clients\.ts$/, anyOf: ['auditStore'] },
  { module: /^shared\/adapters\/idempotency\/idempotency\.dynamodb\.ts$/, anyOf: ['idempotencyTable'] },
  { module: /^shared\/composition\/idempotency-clients\.ts$/, anyOf: ['idempotencyTable'] },
  { module: /^shared\/adapters\/failure\//, anyOf: ['failureQueue'] },
  { module: /^shared\/adapters\/auth\/token-hasher\.hmac\.ts$/, anyOf: ['tokenHashKey'] },
];

const cache = new Map<string, Promise<string[]>>();

type Inputs = Record<string, { imports: { path: string; kind: string; external?: boolean }[] }>;

/**
 * The modules reachable from the entry through static imports: what every cold start evaluates. A
 * dynamic `import()` is a configuration-selected alternative (the Upstash cache, the local Postgres
 * failure destination) that the binding's own settings decide; it is not followed.
 */
const staticallyReached = (inputs: Inputs, entry: string): string[] => {
  const seen = new Set<string>();
  const stack = [entry];
  while (stack.length > 0) {
    const path = stack.pop() as string;
    if (seen.has(path) || !inputs[path]) continue;
    seen.add(path);
    for (const i of inputs[path].imports) if (!i.external && i.kind !== 'dynamic-import') stack.push(i.path);
  }
  return [...seen].sort();
};

/**
 * The project modules one function's bundle contains, from esbuild's metafile: bundled in memory as
 * infra bundles it (same aliases), npm packages left external (only our own modules matter here).
 */
export const bundledModules = (entry: string): Promise<string[]> => {
  let hit = cache.get(entry);
  if (!hit) {
    hit = build({
      entryPoints: [join(REPO_ROOT, entry)],
      absWorkingDir: REPO_ROOT,
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      packages: 'external',
      alias: LAMBDA_MODULE_ALIASES,
      logLevel: 'silent',
    }).then((r) => staticallyReached(r.metafile.inputs, entry));
    cache.set(entry, hit);
  }
  return hit;
};

export interface UseReport {
  /** Bindings the bundle needs (each module's rule, satisfied by any of its bindings). */
  readonly reached: readonly { readonly module: string; readonly anyOf: readonly Binding[] }[];
  /** Reached but not declared: the function would run without the resource (or on a default). */
  readonly undeclared: readonly string[];
  /** Declared but never reached: IAM, network and environment the function does not use. */
  readonly unused: readonly Binding[];
}

/** Pure: compares what a bundle's modules use with what the function declares. */
export const checkUses = (declared: Bindings, modules: readonly string[]): UseReport => {
  const has = new Set(bindingsOf(declared));
  const reached = modules.flatMap((module) =>
    USE_RULES.filter((r) => r.module.test(module)).map((r) => ({ module, anyOf: r.anyOf })),
  );
  const undeclared = reached
    .filter((r) => !r.anyOf.some((b) => has.has(b)))
    .map((r) => `${r.module} (${r.anyOf.join(' or ')})`);
  const used = new Set(reached.flatMap((r) => r.anyOf.filter((b) => has.has(b))));
  const unused = [...has].filter((b) => !used.has(b));
  return { reached, undeclared, unused };
};
