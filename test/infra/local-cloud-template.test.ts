import { describe, expect, it } from 'vitest';
import { stages } from '#infra/config/stages';
import type { AppFunction } from '#infra/constructs/app-function';
import type { CfnTemplate, StackArtifact } from '../../scripts/cloud/assembly.ts';
import { localResourceMap, localSecrets, secretArnOf } from '../../scripts/cloud/local-resources.ts';
import { readRestApi } from '../../scripts/cloud/rest-api.ts';
import { functionIdIn } from '../../scripts/cloud/template-functions.ts';
import { kafkaMappings, schedules } from '../../scripts/cloud/triggers.ts';
import { LOCAL_KAFKA_BROKERS } from '../../scripts/services/kafka/kafka.ts';
import { logicalIdOf, synthStage } from './synth.ts';

// The local cloud (`npm start`) reads the synthesized `local` stage: everything the template invokes through
// the live aliases must still lead it to the function whose bundle it runs.
const { stacks, template } = synthStage('local');
const stack = stacks.stateless;
const artifact: StackArtifact = {
  stackName: stack.stackName,
  template: template(stack).toJSON() as CfnTemplate,
};
const fnIdOf = (id: string): string =>
  logicalIdOf((stack.functions as Record<string, AppFunction>)[id]!.fn, stack);
const resources = localResourceMap({
  postgres: { host: '127.0.0.1', port: 5432 },
  redis: { host: '127.0.0.1', port: 6379 },
  kafkaBrokers: '127.0.0.1:19092',
  mongo: { host: '127.0.0.1', port: 27027 },
  localAws: 'http://127.0.0.1:1',
});

describe('the local cloud reads the local stage through its live aliases', () => {
  it('runs each API method and the authorizer as the function behind the alias', () => {
    const api = readRestApi(artifact);

    for (const method of api.methods) {
      expect(artifact.template.Resources[method.functionId]?.Type, method.path).toBe('AWS::Lambda::Function');
    }
    expect(new Set(api.methods.map((m) => m.functionId)).has(fnIdOf('resolveRoute'))).toBe(true);
    expect(Object.values(api.authorizers).map((a) => a.functionId)).toEqual([fnIdOf('authorizer')]);
  });

  it('runs the consumers and the relay schedule as the functions behind their aliases', () => {
    const stateful: StackArtifact = {
      stackName: stacks.stateful.stackName,
      template: template(stacks.stateful).toJSON() as CfnTemplate,
    };
    const ctx = {
      assembly: { dir: '', stacks: [stateful, artifact], assetDir: () => '' },
      stack: artifact,
      resources,
      pseudo: { 'AWS::Region': 'us-east-1', 'AWS::AccountId': '000000000000', 'AWS::Partition': 'aws' },
      secretValue: () => '',
    };

    expect(
      kafkaMappings(artifact, ctx)
        .map((m) => m.functionId)
        .sort(),
    ).toEqual(['audit', 'cacheInvalidation', 'cacheWarming'].map(fnIdOf).sort());
    // The poller gathers as long as the template's batching window says (the stage's, in ms).
    for (const m of kafkaMappings(artifact, ctx)) {
      expect(m.batchingWindowMs, m.logicalId).toBe(stages.local.consumers.maxBatchingWindowSeconds * 1000);
    }
    expect(schedules(artifact).map((s) => s.functionId)).toEqual([fnIdOf('outboxRelay')]);
  });

  it("creates the topic with no more replicas than the local services' brokers", () => {
    // Dev's two replicas made `npm start` fail on a broker without the topic (INVALID_REPLICATION_FACTOR).
    const topics = Object.values(artifact.template.Resources).filter((r) => r.Type === 'Custom::KafkaTopic');

    expect(topics).toHaveLength(1);
    expect(topics[0]?.Properties?.replicationFactor).toBeLessThanOrEqual(LOCAL_KAFKA_BROKERS);
  });

  it('maps an alias reference to its function, and a live alias to its qualified ARN', () => {
    const relay = (stack.functions as Record<string, AppFunction>).outboxRelay!;
    const aliasId = logicalIdOf(relay.live!, stack);

    expect(functionIdIn({ Ref: aliasId }, artifact)).toBe(fnIdOf('outboxRelay'));
    expect(functionIdIn({ 'Fn::GetAtt': [fnIdOf('outboxRelay'), 'Arn'] }, artifact)).toBe(
      fnIdOf('outboxRelay'),
    );
    expect(functionIdIn({ Ref: 'NoSuchResource' }, artifact)).toBeUndefined();
    expect(resources(artifact, aliasId, artifact.template.Resources[aliasId]!).ref).toMatch(
      /:function:[^:]+:live$/,
    );
  });

  it("serves the app user's secret with a generated password and its master's ARN, as the rotation needs", () => {
    const stateful: StackArtifact = {
      stackName: stacks.stateful.stackName,
      template: template(stacks.stateful).toJSON() as CfnTemplate,
    };
    const secretId = (name: string) =>
      Object.entries(stateful.template.Resources).find(([, r]) => r.Properties?.Name === name)!;
    const [masterId, master] = secretId('traffic-manager-local/database/admin');

    const app = JSON.parse(localSecrets([stateful], 'seed')['traffic-manager-local/database/app']!);

    expect(app).toMatchObject({ username: 'tm_app', masterarn: secretArnOf(stateful, masterId, master) });
    expect(app.password).toMatch(/^[A-Za-z0-9]{30}$/);
  });
});
