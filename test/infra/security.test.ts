import { Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { functionManifest } from '#functions/function-manifest';
import { gatewayResponses } from '#functions/gateway-responses';
import { httpRoutes, isPublic } from '#functions/route-table';
import { type AppFunctionId, stages } from '#infra/config/stages';
import type { AppFunction } from '#infra/constructs/app-function';
import { logicalIdOf, resourcesOf, synthStage } from './synth.ts';

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

const stateless = (stage: 'dev' | 'prod' | 'localstack' = 'dev') => {
  const s = synthStage(stage);
  return { stack: s.stacks.stateless, template: s.template(s.stacks.stateless) };
};

/** Every IAM statement on one function's role. */
const statementsOf = (id: AppFunctionId, stage: 'dev' | 'prod' | 'localstack' = 'dev'): Statement[] => {
  const { stack, template } = stateless(stage);
  const fn = stack.functions[id] as AppFunction;
  const roleId = stack.getLogicalId(fn.role.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]);
  return resourcesOf(template, 'AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties?.Roles).includes(`"${roleId}"`))
    .flatMap(([, p]) => (p.Properties!.PolicyDocument as { Statement: Statement[] }).Statement);
};

const envOf = (id: AppFunctionId, stage: 'dev' | 'prod' | 'localstack' = 'dev'): Record<string, unknown> => {
  const { stack, template } = stateless(stage);
  const resource = template.toJSON().Resources[logicalIdOf((stack.functions[id] as AppFunction).fn, stack)];
  return resource.Properties.Environment.Variables;
};

/** The Stateful stack's output of the key's ARN: a weak reference (AWS stages) or an export (LocalStack). */
const TOKEN_HASH_KEY_EXPORT = /(?:Exports|Publish)OutputRefTokenHashKey/;

describe('API tokens in AWS: the Lambda authorizer', () => {
  it('is a REQUEST authorizer on the Authorization header, cached per token for the stage TTL', () => {
    for (const stage of ['dev', 'prod', 'localstack'] as const) {
      const { stack, template } = stateless(stage);
      template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
        Type: 'REQUEST',
        IdentitySource: 'method.request.header.Authorization',
        AuthorizerResultTtlInSeconds: stages[stage].api.authorizerCacheTtlSeconds,
      });
      // Through its live alias (safe deploys: CodeDeploy shifts it).
      const authorizerAlias = logicalIdOf((stack.functions.authorizer as AppFunction).live!, stack);
      const [[, authorizer]] = resourcesOf(template, 'AWS::ApiGateway::Authorizer') as [[string, never]];
      expect(JSON.stringify(authorizer)).toContain(`{"Ref":"${authorizerAlias}"}`);
    }
  });

  it('guards every route but the health ones, and the health ones not at all', () => {
    const { template } = stateless();
    const authorizerId = resourcesOf(template, 'AWS::ApiGateway::Authorizer')[0]?.[0];
    const methods = resourcesOf(template, 'AWS::ApiGateway::Method').map(([, m]) => m.Properties ?? {});

    const custom = methods.filter((m) => m.AuthorizationType === 'CUSTOM');
    expect(custom).toHaveLength(httpRoutes.filter((r) => !isPublic(r)).length);
    for (const m of custom) expect(m.AuthorizerId).toEqual({ Ref: authorizerId });
    const open = methods.filter((m) => m.AuthorizationType === 'NONE');
    expect(open).toHaveLength(httpRoutes.filter(isPublic).length);
  });

  it("lets the authorizer read only the token hash key secret and the database app user's secret, and reach only RDS Proxy", () => {
    const statements = statementsOf('authorizer');
    const actions = new Set(statements.flatMap((s) => [s.Action].flat()));
    const allowed = new Set([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'xray:PutTraceSegments',
      'xray:PutTelemetryRecords',
      'ec2:CreateNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ec2:DeleteNetworkInterface',
      'ec2:AssignPrivateIpAddresses',
      'ec2:UnassignPrivateIpAddresses',
      'secretsmanager:GetSecretValue',
      'secretsmanager:DescribeSecret',
    ]);
    for (const action of actions) expect(allowed, action).toContain(action);
    const secrets = statements
      .filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'))
      .flatMap((s) => [s.Resource].flat())
      .map((r) => JSON.stringify(r));
    expect(secrets).toHaveLength(2);
    expect(secrets.some((r) => TOKEN_HASH_KEY_EXPORT.test(r))).toBe(true);
    // The application user's (DML only), never the master's.
    expect(secrets.some((r) => /DatabaseAppSecret/.test(r))).toBe(true);
    expect(secrets.some((r) => /DatabaseSecretAttachment/.test(r))).toBe(false);

    const env = envOf('authorizer');
    expect(env).toMatchObject({ DATABASE_SSL: 'verify-full', DATABASE_PORT: '5432' });
    expect(JSON.stringify(env.DATABASE_HOST)).toContain('DatabaseProxy');
    for (const key of ['REDIS_URL', 'MONGO_URL', 'MSK_CLUSTER_ARN', 'KAFKA_BROKERS', 'IDEMPOTENCY_TABLE']) {
      expect(env[key], key).toBeUndefined();
    }

    // Egress: HTTPS to the VPC endpoints (Secrets Manager) and the proxy's port, nothing else.
    const { template } = stateless();
    const egress = resourcesOf(template, 'AWS::EC2::SecurityGroupEgress').filter(([id]) =>
      id.startsWith('authorizerSecurityGroup'),
    );
    expect(egress).toHaveLength(1);
    expect(egress[0]?.[1].Properties).toMatchObject({ FromPort: 5432, ToPort: 5432 });
    expect(JSON.stringify(egress[0]?.[1].Properties)).toContain('DatabaseProxySecurityGroup');
  });

  it('gives the token hash key to the functions that hash tokens, and to no other', () => {
    const { stack } = stateless('prod');
    for (const id of Object.keys(functionManifest) as AppFunctionId[]) {
      if (!stack.functions[id]) continue;
      const reads = statementsOf(id, 'prod').some((s) =>
        TOKEN_HASH_KEY_EXPORT.test(JSON.stringify(s.Resource)),
      );
      expect(reads, id).toBe(['authorizer', 'tokens', 'bootstrapAdminToken'].includes(id));
      expect('TOKEN_HASH_KEY_SECRET_ARN' in envOf(id, 'prod'), id).toBe(reads);
    }
  });

  it('reads the hash key from Secrets Manager at runtime: only its ARN is in the environment', () => {
    for (const id of ['authorizer', 'tokens', 'bootstrapAdminToken'] as const) {
      const env = envOf(id, 'prod');
      expect(env.TOKEN_HASH_KEY, id).toBeUndefined();
      expect(JSON.stringify(env.TOKEN_HASH_KEY_SECRET_ARN), id).toMatch(TOKEN_HASH_KEY_EXPORT);
    }
    const { stacks, template } = synthStage('prod');
    template(stacks.stateful).hasResource('AWS::SecretsManager::Secret', {
      Properties: Match.objectLike({
        Name: 'traffic-manager-prod/api-token-hash-key',
        GenerateSecretString: Match.objectLike({ PasswordLength: 64, ExcludePunctuation: true }),
      }),
      DeletionPolicy: 'Retain',
    });
  });

  it('outputs the bootstrap function to invoke for the first admin token', () => {
    stateless().template.hasOutput('BootstrapAdminTokenFunction', { Value: Match.anyValue() });
  });
});

describe('API Gateway answers in JSON', () => {
  it('configures every gateway response the runner also answers with, plus the 4xx/5xx defaults', () => {
    const { template } = stateless();
    for (const [type, spec] of Object.entries(gatewayResponses)) {
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        StatusCode: String(spec.status),
        ResponseParameters: Match.objectLike({ 'gatewayresponse.header.content-type': "'application/json'" }),
        ResponseTemplates: {
          'application/json': JSON.stringify({ error: spec.error, message: spec.message }),
        },
      });
    }
    for (const type of ['DEFAULT_4XX', 'DEFAULT_5XX']) {
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        ResponseTemplates: {
          'application/json': Match.stringLikeRegexp('^\\{"error":".+","message":\\$context'),
        },
      });
    }
  });

  it('gives every gateway response an X-Correlation-ID from context.requestId, which exists for every request', () => {
    const { template } = stateless();
    const responses = resourcesOf(template, 'AWS::ApiGateway::GatewayResponse');

    expect(responses.length).toBe(Object.keys(gatewayResponses).length + 2);
    for (const [id, r] of responses) {
      // method.request.header.* is empty when no method matched (MISSING_AUTHENTICATION_TOKEN): not used.
      expect((r.Properties?.ResponseParameters as Record<string, string>) ?? {}, id).toMatchObject({
        'gatewayresponse.header.x-correlation-id': 'context.requestId',
      });
    }
  });

  it('throttles the stage on top of the per-tenant limits', () => {
    stateless('prod').template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: [
        Match.objectLike({
          ThrottlingRateLimit: stages.prod.api.throttleRatePerSecond,
          ThrottlingBurstLimit: stages.prod.api.throttleBurst,
        }),
      ],
    });
  });
});

describe('cdk-nag on the API methods', () => {
  it('acknowledges APIG4 only on the public methods (health, OpenAPI); guarded ones need none', () => {
    const { stack } = stateless();
    const methods = stack.api.methods;
    for (const method of methods) {
      const ids = method.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) => Object.keys(m.data as Record<string, string>));
      const route = httpRoutes.find((r) => r.path === method.resource.path && r.method === method.httpMethod);
      expect(route, method.resource.path).toBeDefined();
      expect(
        ids.some((id) => id.includes('AwsSolutions-APIG4')),
        method.resource.path,
      ).toBe(isPublic(route!));
      const reasons = JSON.stringify(method.node.metadata.map((m) => m.data));
      expect(reasons).not.toContain('issue #6');
    }
  });
});
