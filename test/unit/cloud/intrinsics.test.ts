import { describe, expect, it } from 'vitest';
import type { Assembly, StackArtifact } from '../../../scripts/cloud/assembly.ts';
import { type ResolveContext, resolveValue, UnresolvableError } from '../../../scripts/cloud/intrinsics.ts';

const stack: StackArtifact = {
  stackName: 'Stateful',
  template: {
    Resources: {
      Secret: { Type: 'AWS::SecretsManager::Secret' },
      Proxy: { Type: 'AWS::RDS::DBProxy' },
      Queue: { Type: 'AWS::SQS::Queue' },
    },
    Outputs: {
      ProxyEndpoint: { Value: { 'Fn::GetAtt': ['Proxy', 'Endpoint'] }, Export: { Name: 'Stateful:Proxy' } },
    },
  },
};
const assembly: Assembly = { dir: '/nowhere', stacks: [stack], assetDir: () => '/nowhere' };
const ctx: ResolveContext = {
  assembly,
  stack,
  pseudo: { 'AWS::Region': 'us-east-1' },
  resources: (_stack, id) =>
    id === 'Secret' ? { ref: 'arn:secret' } : id === 'Proxy' ? { attrs: { Endpoint: '127.0.0.1' } } : {},
  secretValue: (id, key) => `${id}/${key ?? ''}`,
};

describe('template values resolved for this machine', () => {
  it('resolves a dynamic reference that Fn::Join builds around a secret ARN (the RDS master password shape)', () => {
    const value = {
      'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: 'Secret' }, ':SecretString:password::}}']],
    };
    expect(resolveValue(value, ctx)).toBe('arn:secret/password');
  });

  it('resolves Fn::ImportValue through the exporting stack and Fn::Sub with attributes and pseudo parameters', () => {
    expect(resolveValue({ 'Fn::ImportValue': 'Stateful:Proxy' }, ctx)).toBe('127.0.0.1');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a JS template
    expect(resolveValue({ 'Fn::Sub': 'postgres://${Proxy.Endpoint}/${AWS::Region}' }, ctx)).toBe(
      'postgres://127.0.0.1/us-east-1',
    );
  });

  it('resolves a weak reference (Fn::GetStackOutput) through the producing stack, no export needed', () => {
    const weak = (OutputName: string) => ({
      'Fn::GetStackOutput': { StackName: 'Stateful', Region: { Ref: 'AWS::Region' }, OutputName },
    });

    expect(resolveValue(weak('ProxyEndpoint'), ctx)).toBe('127.0.0.1');
    expect(() => resolveValue(weak('Missing'), ctx)).toThrow(/Stateful\.Missing: no such stack output/);
  });

  it('names what it cannot resolve instead of guessing', () => {
    expect(() => resolveValue({ Ref: 'Queue' }, ctx)).toThrow(UnresolvableError);
    expect(() => resolveValue({ Ref: 'Queue' }, ctx)).toThrow(
      /Ref Queue \(AWS::SQS::Queue\) has no local value/,
    );
    expect(() => resolveValue({ 'Fn::ImportValue': 'Other:Thing' }, ctx)).toThrow(/no stack exports it/);
  });
});
