import { createHmac } from 'node:crypto';
import type { CfnResource, StackArtifact } from './assembly.ts';
import type { LocalResource, ResourceMap } from './intrinsics.ts';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

export const PSEUDO_PARAMETERS: Readonly<Record<string, string>> = {
  'AWS::Region': LOCAL_REGION,
  'AWS::AccountId': LOCAL_ACCOUNT,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
};

/** Where the managed stores' local stand-ins listen. */
export interface LocalEndpoints {
  readonly postgres: { readonly host: string; readonly port: number };
  readonly redis: { readonly host: string; readonly port: number };
  readonly kafkaBrokers: string;
  readonly mongo: { readonly host: string; readonly port: number };
  /** scripts/cloud/local-aws.ts: Secrets Manager, MSK's control plane, SQS. */
  readonly localAws: string;
}

const nameOf = (stack: StackArtifact, logicalId: string, resource: CfnResource, property: string): string => {
  const given = resource.Properties?.[property];
  return typeof given === 'string' ? given : `${stack.stackName}-${logicalId}`;
};

const arn = (service: string, resource: string): string =>
  `arn:aws:${service}:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${resource}`;

export const secretArnOf = (stack: StackArtifact, logicalId: string, resource: CfnResource): string =>
  arn('secretsmanager', `secret:${nameOf(stack, logicalId, resource, 'Name')}`);

export const clusterArnOf = (stack: StackArtifact, logicalId: string): string =>
  arn('kafka', `cluster/${stack.stackName}-${logicalId}/local`);

export const tableNameOf = (stack: StackArtifact, logicalId: string, resource: CfnResource): string =>
  nameOf(stack, logicalId, resource, 'TableName');

/**
 * The one map from our logical resources to local endpoints: proxy → Postgres, cache → Redis, cluster →
 * Kafka (through the local MSK control plane) and its deploy-time broker lookup → the local broker list, DocumentDB → the Mongo-wire server, table → the local
 * DynamoDB-compatible server (by name), queue and secrets → the local AWS endpoint. A type not listed
 * here has no local value, so a function whose environment needs it fails to start, naming it.
 */
export const localResourceMap =
  (endpoints: LocalEndpoints): ResourceMap =>
  (stack, logicalId, resource): LocalResource => {
    const pg = endpoints.postgres;
    switch (resource.Type) {
      case 'AWS::RDS::DBProxy':
        return { ref: logicalId, attrs: { Endpoint: pg.host } };
      case 'AWS::RDS::DBInstance':
        return { ref: logicalId, attrs: { 'Endpoint.Address': pg.host, 'Endpoint.Port': String(pg.port) } };
      case 'AWS::ElastiCache::ReplicationGroup':
        return {
          ref: logicalId,
          attrs: {
            'PrimaryEndPoint.Address': endpoints.redis.host,
            'PrimaryEndPoint.Port': String(endpoints.redis.port),
          },
        };
      case 'AWS::MSK::Cluster':
        return { ref: clusterArnOf(stack, logicalId), attrs: { Arn: clusterArnOf(stack, logicalId) } };
      // The deploy-time GetBootstrapBrokers lookup (CDK's AwsCustomResource, not run locally): the local broker.
      case 'Custom::MskBootstrapBrokers':
        return { ref: logicalId, attrs: { BootstrapBrokerStringSaslIam: endpoints.kafkaBrokers } };
      case 'AWS::DocDB::DBCluster':
        return {
          ref: logicalId,
          attrs: { Endpoint: endpoints.mongo.host, Port: String(endpoints.mongo.port) },
        };
      case 'AWS::DynamoDB::Table': {
        const name = tableNameOf(stack, logicalId, resource);
        return { ref: name, attrs: { Arn: arn('dynamodb', `table/${name}`) } };
      }
      case 'AWS::SQS::Queue': {
        const name = nameOf(stack, logicalId, resource, 'QueueName');
        return {
          ref: `${endpoints.localAws}/${LOCAL_ACCOUNT}/${name}`,
          attrs: { Arn: arn('sqs', name), QueueName: name },
        };
      }
      case 'AWS::SecretsManager::Secret':
        return { ref: secretArnOf(stack, logicalId, resource) };
      case 'AWS::SecretsManager::SecretTargetAttachment': {
        // Its Ref is the secret's ARN.
        const target = (resource.Properties?.SecretId as { Ref?: string } | undefined)?.Ref;
        const secret = target ? stack.template.Resources[target] : undefined;
        return secret && target ? { ref: secretArnOf(stack, target, secret) } : {};
      }
      case 'AWS::Lambda::Function': {
        const name = nameOf(stack, logicalId, resource, 'FunctionName');
        return { ref: name, attrs: { Arn: arn('lambda', `function:${name}`) } };
      }
      // An alias's Ref is its ARN (function ARN + `:<alias>`); locally it runs its function's one bundle.
      case 'AWS::Lambda::Alias': {
        const fnId = (resource.Properties?.FunctionName as { Ref?: string } | undefined)?.Ref;
        const fn = fnId ? stack.template.Resources[fnId] : undefined;
        if (!fnId || !fn) return {};
        const qualified = arn(
          'lambda',
          `function:${nameOf(stack, fnId, fn, 'FunctionName')}:${String(resource.Properties?.Name)}`,
        );
        return { ref: qualified, attrs: { AliasArn: qualified } };
      }
      case 'AWS::EC2::SecurityGroup':
        return { ref: `sg-${logicalId}`, attrs: { GroupId: `sg-${logicalId}` } };
      default:
        return {};
    }
  };

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A secret's local value, generated as Secrets Manager would from its `GenerateSecretString` (a JSON
 * template plus a generated key, or a plain generated string), but derived from a per-checkout seed so
 * that it is the same on every start (token hashes made with the token hash key stay valid).
 */
export const localSecretValue = (
  seed: string,
  secretArn: string,
  resource: CfnResource,
  stack: StackArtifact,
): string => {
  const spec = (resource.Properties?.GenerateSecretString ?? {}) as {
    SecretStringTemplate?: unknown;
    GenerateStringKey?: string;
    PasswordLength?: number;
  };
  const digest = createHmac('sha256', seed).update(secretArn).digest();
  const length = spec.PasswordLength ?? 32;
  let generated = '';
  for (let i = 0; i < length; i++)
    generated += ALPHANUMERIC[digest[i % digest.length]! % ALPHANUMERIC.length];
  const given = resource.Properties?.SecretString;
  if (typeof given === 'string') return given;
  if (spec.SecretStringTemplate && spec.GenerateStringKey) {
    return JSON.stringify({
      ...(JSON.parse(secretTemplate(spec.SecretStringTemplate, stack)) as object),
      [spec.GenerateStringKey]: generated,
    });
  }
  return generated;
};

/**
 * A secret's JSON template: a string, or a join of strings and references to other secrets of the stack
 * (a multi-user rotation secret names its master: `"masterarn": {"Ref": <master's attachment>}`).
 */
const secretTemplate = (template: unknown, stack: StackArtifact): string => {
  if (typeof template === 'string') return template;
  const [separator, parts] = ((template as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'] ?? []) as [
    string?,
    unknown[]?,
  ];
  if (separator === undefined || !parts) {
    throw new Error(`unsupported secret template ${JSON.stringify(template)}`);
  }
  return parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const id = (part as { Ref?: string }).Ref;
      const resource = id ? stack.template.Resources[id] : undefined;
      if (!id || !resource) throw new Error(`unsupported secret template part ${JSON.stringify(part)}`);
      if (resource.Type === 'AWS::SecretsManager::Secret') return secretArnOf(stack, id, resource);
      const target = (resource.Properties?.SecretId as { Ref?: string } | undefined)?.Ref;
      const secret = target ? stack.template.Resources[target] : undefined;
      if (resource.Type !== 'AWS::SecretsManager::SecretTargetAttachment' || !target || !secret) {
        throw new Error(`unsupported secret template reference to ${id} (${resource.Type})`);
      }
      return secretArnOf(stack, target, secret);
    })
    .join(separator);
};

/** Every secret of the app, by ARN and by name, with its local value. */
export const localSecrets = (stacks: readonly StackArtifact[], seed: string): Record<string, string> => {
  const secrets: Record<string, string> = {};
  for (const stack of stacks) {
    for (const [id, resource] of Object.entries(stack.template.Resources)) {
      if (resource.Type !== 'AWS::SecretsManager::Secret') continue;
      const secretArn = secretArnOf(stack, id, resource);
      const value = localSecretValue(seed, secretArn, resource, stack);
      secrets[secretArn] = value;
      const name = resource.Properties?.Name;
      if (typeof name === 'string') secrets[name] = value;
    }
  }
  return secrets;
};

/**
 * What the local stand-ins cannot do like the managed services, applied only to variables the template
 * sets (an override never adds a binding the template lacks). Each says why.
 */
export const TRANSPORT_OVERRIDES: Readonly<
  Record<string, { readonly apply: (value: string) => string | undefined; readonly why: string }>
> = {
  DATABASE_SSL: { apply: () => 'disable', why: 'the local PostgreSQL has no TLS (RDS Proxy requires it)' },
  REDIS_URL: {
    apply: (v) => v.replace(/^rediss:/, 'redis:'),
    why: 'the local Redis has no TLS (ElastiCache in transit encryption)',
  },
  KAFKA_AUTH: {
    apply: () => 'none',
    why: 'the local broker is plaintext without SASL (MSK IAM is SASL/OAUTHBEARER over TLS)',
  },
  KAFKA_TLS: { apply: () => 'false', why: 'the local broker has no TLS listener' },
  MONGO_URL: {
    apply: (v) => {
      const url = new URL(v);
      for (const p of ['tls', 'ssl', 'replicaSet']) url.searchParams.delete(p);
      return url.toString();
    },
    why: 'the Mongo-wire server is one node without TLS (DocumentDB is a TLS replica set rs0)',
  },
  MONGO_TLS_CA_FILE: { apply: () => undefined, why: 'no TLS to verify locally' },
  MONGO_SECRET_ARN: {
    apply: () => undefined,
    why: 'the Mongo-wire server has no users to authenticate (DocumentDB takes the secret`s credentials)',
  },
};

export const applyTransportOverrides = (env: Record<string, string>): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    const override = TRANSPORT_OVERRIDES[key];
    const next = override ? override.apply(value) : value;
    if (next !== undefined) out[key] = next;
  }
  return out;
};
