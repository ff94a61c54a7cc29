import type { Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { crossStackReferencesFor } from '#infra/build';
import { stages } from '#infra/config/stages';
import { synthStage } from './synth.ts';

type Json = Record<string, unknown>;

/** Every value of one intrinsic function anywhere in a template. */
const uses = (value: unknown, fn: string): unknown[] => {
  if (Array.isArray(value)) return value.flatMap((v) => uses(v, fn));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Json).flatMap(([key, v]) =>
    key === fn ? [v, ...uses(v, fn)] : uses(v, fn),
  );
};

const templatesOf = (stage: 'dev' | 'prod' | 'localstack') => {
  const { stacks, template } = synthStage(stage);
  return (Object.values(stacks).filter(Boolean) as Stack[]).map((stack) => ({
    stack,
    json: template(stack).toJSON() as { Outputs?: Record<string, Json> },
  }));
};

describe('references between our stacks', () => {
  it.each(['dev', 'prod'] as const)(
    '%s: are weak (Fn::GetStackOutput): no export, no import, so neither side blocks the other’s update',
    (stage) => {
      const templates = templatesOf(stage);
      const names = new Set(templates.map((t) => t.stack.stackName));
      let weak = 0;

      for (const { stack, json } of templates) {
        expect(uses(json, 'Fn::ImportValue'), stack.stackName).toEqual([]);
        const exported = Object.entries(json.Outputs ?? {}).filter(([, o]) => o.Export !== undefined);
        expect(
          exported.map(([id]) => id),
          stack.stackName,
        ).toEqual([]);
        for (const ref of uses(json, 'Fn::GetStackOutput') as { StackName: string; OutputName: string }[]) {
          weak++;
          // Each reads an output the producing stack of this stage publishes.
          expect(names.has(ref.StackName), ref.StackName).toBe(true);
          const producer = templates.find((t) => t.stack.stackName === ref.StackName)!;
          expect(producer.json.Outputs?.[ref.OutputName], ref.OutputName).toBeDefined();
        }
      }
      // Network → Stateful/Stateless (subnets), Stateful → Stateless (endpoints, SG ids, secrets),
      // Stateless → Observability (function names, the API): all of them go this way.
      expect(weak).toBeGreaterThan(20);
    },
  );

  it('stay classic exports on the LocalStack stage only, whose pinned LocalStack 4.4 predates Fn::GetStackOutput', () => {
    expect(crossStackReferencesFor(stages.localstack)).toBe('strong');
    const templates = templatesOf('localstack');
    expect(templates.flatMap(({ json }) => uses(json, 'Fn::GetStackOutput'))).toEqual([]);
    expect(templates.flatMap(({ json }) => uses(json, 'Fn::ImportValue')).length).toBeGreaterThan(0);
  });
});
