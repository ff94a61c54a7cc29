import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPENAPI_PATH } from '#functions/openapi/paths';
import { resourcesOf, synthStage } from './synth.ts';

type Ref = { Ref?: string; 'Fn::GetAtt'?: [string, string] };

/** `METHOD /path` of every method the synthesized stage's REST API has. */
const apiMethods = (stage: 'dev' | 'localstack'): string[] => {
  const s = synthStage(stage);
  const template = s.template(s.stacks.stateless);
  const resources = new Map(resourcesOf(template, 'AWS::ApiGateway::Resource'));
  const pathOf = (id: Ref): string => {
    if (!id.Ref) return ''; // the root resource (Fn::GetAtt RootResourceId)
    const r = resources.get(id.Ref)!;
    return `${pathOf(r.Properties!.ParentId as Ref)}/${r.Properties!.PathPart as string}`;
  };
  return resourcesOf(template, 'AWS::ApiGateway::Method').map(
    ([, m]) => `${m.Properties!.HttpMethod as string} ${pathOf(m.Properties!.ResourceId as Ref) || '/'}`,
  );
};

const documented = (): string[] => {
  const doc = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as { paths: Record<string, object> };
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
  );
};

describe('the OpenAPI document against the synthesized API', () => {
  it.each(['dev', 'localstack'] as const)(
    'documents every method of the %s stage’s REST API, and no other',
    (stage) => {
      const methods = apiMethods(stage);
      expect(methods.length).toBeGreaterThan(0);
      expect([...methods].sort()).toEqual(documented().sort());
    },
  );
});
