import { describe, expect, it } from 'vitest';
import { functionManifest } from '#functions/function-manifest';
import type { AppFunctionId } from '#infra/config/stages';
import type { Bindings } from '#shared/config/bindings';
import {
  checkEnvironment,
  checkPermissions,
  EXTRA_ACTIONS,
  EXTRA_VARIABLES,
  functionLogicalIds,
  propertiesOf,
  type TemplateJson,
} from './function-checks.ts';
import { bundledModules, checkUses, FUNCTION_SPECS } from './function-uses.ts';
import { synthStage } from './synth.ts';

const IDS = Object.keys(FUNCTION_SPECS) as AppFunctionId[];

const synthesized = (stage: 'dev' | 'prod') => {
  const s = synthStage(stage);
  const stack = s.stacks.stateless;
  return { template: s.template(stack).toJSON() as TemplateJson, ids: functionLogicalIds(stack) };
};

/** A deep copy to mutate. */
const copy = (t: TemplateJson): TemplateJson => structuredClone(t);

const logicalId = (ids: Partial<Record<AppFunctionId, string>>, id: AppFunctionId): string => {
  const lid = ids[id];
  if (!lid) throw new Error(`no function ${id}`);
  return lid;
};

describe('function manifest: the code uses what it declares', () => {
  it('declares every function of the route table', () => {
    expect(Object.keys(functionManifest).sort()).toEqual([...IDS].sort());
  });

  it.each(IDS)('%s: its bundle reaches exactly the bindings it declares', async (id) => {
    const modules = await bundledModules(FUNCTION_SPECS[id].entry);

    const report = checkUses(functionManifest[id], modules);

    expect(report.undeclared, `${id} reaches undeclared bindings`).toEqual([]);
    expect(report.unused, `${id} declares bindings it never reaches`).toEqual([]);
  });

  it('reports a use the declaration lacks (cache removed from resolveRoute, tokens and auditQuery)', async () => {
    for (const id of ['resolveRoute', 'tokens', 'auditQuery'] as const) {
      const { cache: _dropped, ...withoutCache } = functionManifest[id];
      const modules = await bundledModules(FUNCTION_SPECS[id].entry);

      const report = checkUses(withoutCache, modules);

      expect(report.undeclared.join('\n'), id).toMatch(/shared\/composition\/cache-clients\.ts \(cache\)/);
    }
  });

  it('reports a declaration the code does not use', async () => {
    const modules = await bundledModules(FUNCTION_SPECS.authorizer.entry);

    const report = checkUses({ ...functionManifest.authorizer, cache: true }, modules);

    expect(report.unused).toEqual(['cache']);
  });
});

describe.each(['dev', 'prod'] as const)(
  'function manifest: the %s template grants and sets what it declares',
  (stage) => {
    it.each(IDS)('%s: its role allows exactly the actions its bindings imply', (id) => {
      const { template, ids } = synthesized(stage);

      expect(
        checkPermissions(template, logicalId(ids, id), functionManifest[id], true, EXTRA_ACTIONS[id]),
      ).toEqual([]);
    });

    it.each(IDS)('%s: its environment holds every variable its bindings set, and no other', (id) => {
      const { template, ids } = synthesized(stage);

      expect(
        checkEnvironment(template, logicalId(ids, id), functionManifest[id], EXTRA_VARIABLES[id]),
      ).toEqual([]);
    });
  },
);

describe('function manifest checks: a mutated template fails them', () => {
  const { template, ids } = synthesized('dev');
  const envOf = (t: TemplateJson, id: AppFunctionId) =>
    (propertiesOf(t, logicalId(ids, id)).Environment as { Variables: Record<string, unknown> }).Variables;

  it('names a binding variable dropped from one function', () => {
    const mutated = copy(template);
    delete envOf(mutated, 'tokens').REDIS_URL;

    const problems = checkEnvironment(mutated, logicalId(ids, 'tokens'), functionManifest.tokens);

    expect(problems).toContain('missing REDIS_URL');
    expect(problems.join('\n')).toMatch(/requireBindings would refuse cache: REDIS_URL/);
  });

  it('names a variable no binding sets', () => {
    const mutated = copy(template);
    envOf(mutated, 'authorizer').REDIS_URL = 'rediss://elsewhere:6380';

    expect(checkEnvironment(mutated, logicalId(ids, 'authorizer'), functionManifest.authorizer)).toEqual([
      'not declared: REDIS_URL',
    ]);
  });

  it('names an IAM action dropped from one function (the idempotent producer)', () => {
    const mutated = copy(template);
    const roleId = (propertiesOf(mutated, logicalId(ids, 'outboxRelay')).Role as { 'Fn::GetAtt': [string] })[
      'Fn::GetAtt'
    ][0];
    for (const r of Object.values(mutated.Resources)) {
      if (r.Type !== 'AWS::IAM::Policy' || !JSON.stringify(r.Properties.Roles).includes(`"${roleId}"`))
        continue;
      for (const s of (r.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] })
        .Statement) {
        if (Array.isArray(s.Action))
          s.Action = s.Action.filter((a) => a !== 'kafka-cluster:WriteDataIdempotently');
      }
    }

    expect(
      checkPermissions(mutated, logicalId(ids, 'outboxRelay'), functionManifest.outboxRelay, true),
    ).toEqual(['missing kafka-cluster:WriteDataIdempotently@cluster']);
  });

  it('names an action granted beyond the declaration', () => {
    const undeclaredCache: Bindings = { ...functionManifest.authorizer, cache: true };
    const { cache: _c, ...tokensWithoutCache } = functionManifest.tokens;

    expect(checkPermissions(template, logicalId(ids, 'authorizer'), undeclaredCache, true)).toEqual([
      'missing secretsmanager:DescribeSecret@secret:cache',
      'missing secretsmanager:GetSecretValue@secret:cache',
    ]);
    expect(checkPermissions(template, logicalId(ids, 'tokens'), tokensWithoutCache, true)).toEqual([
      'not declared: secretsmanager:DescribeSecret@secret:cache',
      'not declared: secretsmanager:GetSecretValue@secret:cache',
    ]);
  });
});
