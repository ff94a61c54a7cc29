import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { stages } from '#infra/config/stages';
import { LOCALSTACK_PROVIDER_RUNTIME } from '#infra/constructs/deploy-action';
import { fromRoot } from '#infra/paths';
import { resourcesOf, synthStage } from './synth.ts';

type Service = {
  image: string;
  ports: string[];
  environment?: Record<string, string>;
  healthcheck: Record<string, string>;
};
type Compose = { name: string; networks: { default: { name: string } }; services: Record<string, Service> };

const compose = parse(readFileSync(fromRoot('localstack-compose.yml'), 'utf8')) as Compose;
const service = (name: string): Service => {
  const found = compose.services[name];
  if (!found) throw new Error(`no ${name} service`);
  return found;
};
const containerPorts = (name: string) => service(name).ports.map((p) => Number(p.split(':').at(-1)));

describe('localstack-compose.yml', () => {
  it('runs LocalStack and a container for each store community LocalStack lacks', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'kafka',
      'localstack',
      'mongo',
      'postgres',
      'redis',
    ]);
    expect(service('localstack').image).toMatch(/^localstack\/localstack:\d/);
    expect(service('postgres').image).toMatch(/^postgres:16/);
    expect(service('redis').image).toMatch(/^(valkey\/valkey|redis):\d/);
    expect(service('kafka').image).toMatch(/^apache\/kafka:\d/);
    expect(service('mongo').image).toMatch(/^mongo:\d/);
  });

  it('publishes every port on the loopback interface only', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      expect(svc.ports.length, name).toBeGreaterThan(0);
      for (const port of svc.ports) expect(port, name).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    }
  });

  it('gives every service a health check', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      expect(svc.healthcheck.test, name).toBeTruthy();
      expect(svc.healthcheck.interval, name).toMatch(/^\d+s$/);
      expect(Number(svc.healthcheck.retries), name).toBeGreaterThan(0);
    }
  });

  it('enables the AWS services the local stage deploys to', () => {
    const enabled = (service('localstack').environment?.SERVICES ?? '').split(',');

    for (const name of [
      'apigateway',
      'lambda',
      'dynamodb',
      'secretsmanager',
      'cloudwatch',
      'iam',
      'sts',
      'sqs',
      'events',
    ]) {
      expect(enabled, name).toContain(name);
    }
    // cdklocal deploy itself needs these.
    for (const name of ['cloudformation', 's3', 'ssm']) expect(enabled, name).toContain(name);
  });

  it('puts the Lambda containers on the network the stores are on', () => {
    expect(service('localstack').environment?.LAMBDA_DOCKER_NETWORK).toBe(compose.networks.default.name);
    expect(service('localstack').ports).toContain('127.0.0.1:4566:4566');
  });

  it('runs Kafka in KRaft mode with a listener for the Lambdas and one for the host', () => {
    const env = service('kafka').environment ?? {};

    expect(env.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(env.KAFKA_ADVERTISED_LISTENERS).toContain(
      `INTERNAL://${stages.localstack.localServices?.kafkaBrokers}`,
    );
    expect(env.KAFKA_ADVERTISED_LISTENERS).toContain('EXTERNAL://127.0.0.1:19092');
    expect(env.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false');
  });

  it('serves the local stage URLs from the compose services', () => {
    const urls = stages.localstack.localServices;
    const hostPort = (url: string) => {
      const { hostname, port } = new URL(url.includes('://') ? url : `tcp://${url}`);
      return { hostname, port: Number(port) };
    };

    expect(hostPort(urls?.databaseUrl ?? '')).toEqual({
      hostname: 'postgres',
      port: containerPorts('postgres')[0],
    });
    expect(hostPort(urls?.redisUrl ?? '')).toEqual({ hostname: 'redis', port: containerPorts('redis')[0] });
    expect(hostPort(urls?.mongoUrl ?? '')).toEqual({ hostname: 'mongo', port: containerPorts('mongo')[0] });
    expect(hostPort(urls?.kafkaBrokers ?? '').hostname).toBe('kafka');
    expect(service('postgres').environment?.POSTGRES_DB).toBe('traffic_manager');
  });
});

describe('the localstack stage against the pinned LocalStack', () => {
  const templates = () => {
    const { stacks, template } = synthStage('localstack');
    return [stacks.stateful, stacks.stateless, stacks.observability].map((s) => template(s));
  };

  it(`runs every function, CDK's provider framework included, on ${LOCALSTACK_PROVIDER_RUNTIME.name}, which ${service('localstack').image} supports`, () => {
    expect(service('localstack').image).toBe('localstack/localstack:4.4');
    const runtimes = templates().flatMap((t) =>
      resourcesOf(t, 'AWS::Lambda::Function').map(([id, f]) => `${id} ${String(f.Properties?.Runtime)}`),
    );

    expect(runtimes.some((r) => r.includes('ProviderframeworkonEvent'))).toBe(true);
    for (const runtime of runtimes) expect(runtime).toMatch(/ nodejs22\.x$/);
  });

  it('keeps nodejs24.x for the provider framework on the AWS stages (only LocalStack lags)', () => {
    const { stacks, template } = synthStage('dev');
    const frameworks = resourcesOf(template(stacks.stateless), 'AWS::Lambda::Function').filter(([id]) =>
      id.includes('ProviderframeworkonEvent'),
    );

    expect(frameworks.length).toBeGreaterThan(0);
    for (const [, f] of frameworks) expect(f.Properties?.Runtime).toBe('nodejs24.x');
  });

  it("creates the topic with replication factor 1 on the compose file's one broker", () => {
    const env = service('kafka').environment ?? {};
    const [stateless] = templates().slice(1);

    expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS?.split(',')).toHaveLength(1);
    expect(stages.localstack.kafka).toMatchObject({ brokers: 1, replicationFactor: 1, minInsyncReplicas: 1 });
    const [[, topic] = []] = resourcesOf(stateless!, 'Custom::KafkaTopic');
    expect(topic?.Properties?.replicationFactor).toBe(1);
  });
});
