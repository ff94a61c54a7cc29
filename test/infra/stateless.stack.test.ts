import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { functionManifest } from '#functions/function-manifest';
import {
  authorizerFunctions,
  consumerFunctions,
  deployFunctions,
  httpRoutes,
  isPublic,
  lambdaFunctions,
  operatorFunctions,
  scheduledFunctions,
} from '#functions/route-table';
import { buildTrafficManager, createApp } from '#infra/build';
import {
  type AppFunctionId,
  availabilityZoneCount,
  reservedConcurrencyOf,
  stages,
  withDeployContext,
} from '#infra/config/stages';
import type { AppFunction } from '#infra/constructs/app-function';
import { BOOTSTRAP_BROKERS_RESOURCE_TYPE, IAM_BROKERS_FIELD } from '#infra/constructs/msk-bootstrap-brokers';
import { RestApi, WAF_COUNTED_RULES } from '#infra/constructs/rest-api';
import { RELAY_RUN, RELAY_RUNS_AT_ONCE } from '#shared/config/relay-run';
import { testOutdir } from '#test/support/cdk-outdir';
import { logicalIdOf, resourcesOf, synthStage } from './synth.ts';

type Env = Record<string, unknown>;

/** A weak reference (Fn::GetStackOutput) to an output of this stage's Stateful stack. */
const statefulOutput = (output: RegExp) => ({
  // Same region (prod pins it, dev is env-agnostic), so no role: one account's DescribeStacks.
  'Fn::GetStackOutput': {
    StackName: expect.stringMatching(/-Stateful$/),
    Region: expect.anything(),
    OutputName: expect.stringMatching(output),
  },
});

const stateless = (stage: 'dev' | 'prod' | 'local' | 'localstack') => {
  const synthesized = synthStage(stage);
  const stack = synthesized.stacks.stateless;
  const template = synthesized.template(stack);
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Env }>;
  const fnResource = (id: AppFunctionId) => {
    const fn = stack.functions[id];
    if (!fn) throw new Error(`${stage} has no ${id} function`);
    const resource = resources[logicalIdOf(fn.fn, stack)];
    if (!resource) throw new Error(`no resource for ${id}`);
    return resource.Properties;
  };
  const envOf = (id: AppFunctionId) => (fnResource(id).Environment as { Variables: Env }).Variables;
  return { stack, template, resources, fnResource, envOf };
};

/** The logical id of a function's `live` alias. */
const liveAliasId = (fn: AppFunction, stack: Stack): string => {
  if (!fn.live) throw new Error(`${fn.functionId} has no live alias`);
  return logicalIdOf(fn.live, stack);
};

const allIds = (stage: 'dev' | 'prod' | 'localstack') =>
  Object.entries(synthStage(stage).stacks.stateless.functions).flatMap(([id, fn]) =>
    fn ? [id as AppFunctionId] : [],
  );

describe('stateless stack: functions', () => {
  it('creates one Lambda per route-table entry', () => {
    const { stack } = stateless('dev');

    const expected = [
      ...Object.keys(lambdaFunctions),
      ...Object.keys(authorizerFunctions),
      ...Object.keys(operatorFunctions),
      ...Object.keys(consumerFunctions),
      ...Object.keys(scheduledFunctions),
      ...Object.keys(deployFunctions),
    ].sort();
    expect(allIds('dev').sort()).toEqual(expected);
    expect(Object.keys(functionManifest).sort()).toEqual(expected);
    expect(Object.values(stack.functions).every((fn) => fn !== undefined)).toBe(true);
  });

  it.each(['dev', 'prod'] as const)(
    'runs every function on Node.js 22, arm64, traced, in private subnets (%s)',
    (stage) => {
      const { fnResource, resources } = stateless(stage);

      for (const id of allIds(stage)) {
        const fn = fnResource(id);
        expect(fn.Runtime, id).toBe('nodejs22.x');
        expect(fn.Architectures, id).toEqual(['arm64']);
        expect(fn.TracingConfig, id).toEqual({ Mode: 'Active' });
        expect(fn.ReservedConcurrentExecutions, id).toBe(reservedConcurrencyOf(stages[stage], id));
        const vpc = fn.VpcConfig as {
          SecurityGroupIds: { 'Fn::GetAtt': [string, string] }[];
          SubnetIds: unknown[];
        };
        expect(vpc.SubnetIds, id).toHaveLength(availabilityZoneCount(stages[stage]));
        // Its own security group, created for this function alone.
        expect(vpc.SecurityGroupIds, id).toHaveLength(1);
        const sgId = vpc.SecurityGroupIds[0]?.['Fn::GetAtt'][0] ?? '';
        expect(resources[sgId]?.Type, id).toBe('AWS::EC2::SecurityGroup');
        expect(sgId.startsWith(id), `${id} security group ${sgId}`).toBe(true);
        // Its own log group, with the stage's retention.
        const logGroup = (fn.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
        expect(resources[logGroup]?.Properties.RetentionInDays, id).toBe(stages[stage].logRetentionDays);
      }
    },
  );

  it('sets the configuration every function reads', () => {
    const { envOf } = stateless('dev');

    for (const id of allIds('dev')) {
      expect(envOf(id), id).toMatchObject({
        STAGE: 'dev',
        LOG_LEVEL: 'DEBUG',
        METRICS_BACKEND: 'emf',
        METRICS_NAMESPACE: 'TrafficManager',
        POWERTOOLS_SERVICE_NAME: 'traffic-manager',
        // Lambda traces every invocation (TracingConfig Active); the X-Ray SDK only on request (tracingSdk).
        TRACING: 'off',
      });
    }
  });

  it('sets TRACING=xray on every function only when the deploy asks for it (-c tracingSdk=true)', () => {
    const app = createApp({
      outdir: testOutdir(),
      builtinCloudFormationValidation: false,
      context: { 'aws:cdk:bundling-stacks': [] },
    });
    const stage = withDeployContext(stages.dev, (key) => (key === 'tracingSdk' ? 'true' : undefined));
    const { stateless: stack } = buildTrafficManager(app, stage);
    const fns = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')).filter(
      (r) => r.Properties?.Environment?.Variables?.STAGE === 'dev',
    );

    expect(fns.length).toBe(allIds('dev').length);
    for (const fn of fns) {
      expect(fn.Properties.Environment.Variables.TRACING).toBe('xray');
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    }
  });

  it('points database users at RDS Proxy over verified TLS, as the app user but for the migrations', () => {
    const { envOf } = stateless('dev');
    const secretOf = (id: AppFunctionId) => JSON.stringify(envOf(id).DATABASE_SECRET_ARN);

    for (const id of allIds('dev').filter((i) => functionManifest[i].database)) {
      expect(envOf(id), id).toMatchObject({
        DATABASE_HOST: statefulOutput(/DatabaseProxy/),
        DATABASE_PORT: '5432',
        DATABASE_NAME: 'traffic_manager',
        DATABASE_SSL: 'verify-full',
      });
      expect(envOf(id).DATABASE_URL, id).toBeUndefined();
      // The user name comes from the secret with the password: alternating-users rotation switches it.
      expect(envOf(id).DATABASE_USER, id).toBeUndefined();
      // The master's secret for the migrations only; the app user's (attached to the instance) elsewhere.
      expect(secretOf(id), id).toContain(id === 'migrate' ? 'DatabaseSecretAttachment' : 'DatabaseAppSecret');
    }
  });

  it('has the migrate custom resource create the app user from its secret, which only migrate may also read', () => {
    const { template, envOf } = stateless('prod');
    const [[, migrations] = []] = resourcesOf(template, 'Custom::Migrations');
    const appSecret = JSON.stringify(migrations?.Properties?.appUserSecretArn);

    expect(appSecret).toContain('DatabaseAppSecret');
    expect(JSON.stringify(envOf('resolveRoute').DATABASE_SECRET_ARN)).toBe(appSecret);
    const readers = resourcesOf(template, 'AWS::IAM::Policy').filter(([, p]) =>
      JSON.stringify(p.Properties?.PolicyDocument).includes('DatabaseSecretAttachment'),
    );
    expect(readers.map(([id]) => id).every((id) => id.startsWith('migrate'))).toBe(true);
    expect(readers.length).toBe(1);
  });

  it('wires the cache, Kafka, audit store, idempotency table and failure queue by binding', () => {
    const { envOf } = stateless('dev');

    const resolve = envOf('resolveRoute');
    expect(resolve.CACHE_BACKEND).toBe('redis');
    // TLS, and the port from the replication group's endpoint (not a literal the local cloud cannot map).
    expect(JSON.stringify(resolve.REDIS_URL)).toMatch(
      /"rediss:\/\/".*PrimaryEndPointAddress.*":".*PrimaryEndPointPort/,
    );
    expect(resolve.REDIS_AUTH_SECRET_ARN).toBeDefined();
    expect(resolve.KAFKA_AUTH).toBeUndefined();

    expect(envOf('outboxRelay')).toMatchObject({
      KAFKA_AUTH: 'iam',
      KAFKA_TLS: 'true',
      ROUTE_EVENTS_TOPIC: 'route-events',
    });
    // The bootstrap brokers resolved at deploy time, not a cluster ARN looked up at cold start.
    expect(envOf('outboxRelay').KAFKA_BROKERS).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^KafkaBootstrapBrokers/), 'BootstrapBrokerStringSaslIam'],
    });
    expect(envOf('outboxRelay').MSK_CLUSTER_ARN).toBeUndefined();
    // The write functions leave their events to the relay: no Kafka at all (EVENT_PUBLISHER=relay).
    expect(envOf('upsertRoute').IDEMPOTENCY_TABLE).toBeDefined();
    expect(envOf('upsertRoute').KAFKA_BROKERS).toBeUndefined();

    const audit = envOf('auditQuery');
    expect(JSON.stringify(audit.MONGO_URL)).toContain(
      '/?tls=true&replicaSet=rs0&readPreference=secondaryPreferred&retryWrites=false',
    );
    expect(audit.MONGO_TLS_CA_FILE).toBe('/var/task/global-bundle.pem');
    expect(audit.MONGO_SECRET_ARN).toBeDefined();

    for (const id of Object.keys(consumerFunctions) as AppFunctionId[]) {
      expect(envOf(id), id).toMatchObject({
        FAILURE_DESTINATION: 'sqs',
        FAILURE_QUEUE_URL: statefulOutput(/FailureQueue/),
      });
    }
  });

  it('puts secrets in the environment as Secrets Manager ARNs only', () => {
    const { envOf } = stateless('prod');

    for (const id of allIds('prod')) {
      const env = envOf(id);
      for (const [key, value] of Object.entries(env)) {
        const text = JSON.stringify(value);
        // Secrets travel as `…_SECRET_ARN` only (read at runtime); no other name may even look like one.
        if (!key.endsWith('_SECRET_ARN')) expect(key, id).not.toMatch(/PASSWORD|TOKEN|SECRET|_KEY$/);
        // A dynamic reference would resolve the secret's value into plain configuration.
        expect(text, `${id} ${key}`).not.toContain('resolve:secretsmanager');
        expect(text, `${id} ${key}`).not.toMatch(/:\/\/[^/"]*:[^/"]*@/);
        if (key.endsWith('_SECRET_ARN')) {
          // Weak cross-stack reference to a secret's Ref (its ARN) in the stateful stack.
          expect(value, `${id} ${key}`).toEqual(
            statefulOutput(/^PublishOutputRef[A-Za-z0-9]*(Secret|AuthToken|TokenHashKey)/),
          );
        }
      }
    }
  });
});

describe('stateless stack: REST API', () => {
  it("is a REST API with one method per route, each proxying to its function's live alias", () => {
    const { template, stack } = stateless('dev');
    const methods = resourcesOf(template, 'AWS::ApiGateway::Method');

    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    expect(methods).toHaveLength(httpRoutes.length);
    for (const route of httpRoutes) {
      const aliasId = liveAliasId(stack.functions[route.fn] as AppFunction, stack);
      const matching = methods.filter(([, m]) => {
        const uri = JSON.stringify((m.Properties?.Integration as { Uri?: unknown } | undefined)?.Uri);
        return m.Properties?.HttpMethod === route.method && uri.includes(`{"Ref":"${aliasId}"}`);
      });
      expect(matching.length, `${route.method} ${route.path}`).toBeGreaterThanOrEqual(1);
    }
    template.allResourcesProperties('AWS::ApiGateway::Method', {
      Integration: Match.objectLike({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' }),
    });
  });

  it('logs access and errors, traces and throttles the stage', () => {
    stateless('dev').template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'dev',
      TracingEnabled: true,
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: [
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          ThrottlingRateLimit: stages.dev.api.throttleRatePerSecond,
          ThrottlingBurstLimit: stages.dev.api.throttleBurst,
        }),
      ],
    });
  });

  it('attaches a WAF web ACL on AWS stages only', () => {
    stateless('prod').template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
    stateless('localstack').template.resourceCountIs('AWS::WAFv2::WebACL', 0);
  });

  describe.each(['dev', 'prod'] as const)('%s: the WAF web ACL', (stage) => {
    const rules = () => {
      const [[, acl] = []] = resourcesOf(stateless(stage).template, 'AWS::WAFv2::WebACL');
      return acl?.Properties?.Rules as {
        Name: string;
        Action?: object;
        Statement: {
          ManagedRuleGroupStatement?: { Name: string; RuleActionOverrides?: object[] };
          RateBasedStatement?: Record<string, unknown>;
        };
      }[];
    };
    const rule = (name: string) => rules().find((r) => r.Name === name);

    it('limits by API token (the Authorization header) at the stage limit, not by source address', () => {
      const { perToken, perIpUnauthenticated } = stages[stage].api.wafRateLimits;

      expect(rule('RateLimitPerToken')).toMatchObject({
        Action: { Block: {} },
        Statement: {
          RateBasedStatement: {
            Limit: perToken,
            EvaluationWindowSec: 300,
            AggregateKeyType: 'CUSTOM_KEYS',
            CustomKeys: [
              { Header: { Name: 'authorization', TextTransformations: [{ Priority: 0, Type: 'NONE' }] } },
            ],
          },
        },
      });
      // Only requests without a token are counted per IP (health probes, floods without credentials).
      expect(rule('RateLimitPerIpWithoutToken')?.Statement.RateBasedStatement).toMatchObject({
        Limit: perIpUnauthenticated,
        AggregateKeyType: 'IP',
        ScopeDownStatement: {
          NotStatement: {
            Statement: {
              SizeConstraintStatement: {
                FieldToMatch: { SingleHeader: { Name: 'authorization' } },
                ComparisonOperator: 'GT',
                Size: 0,
              },
            },
          },
        },
      });
      expect(rules().filter((r) => r.Statement.RateBasedStatement?.AggregateKeyType === 'IP')).toHaveLength(
        1,
      );
      // Above what the stage throttle lets one caller send in the same 5 minutes would be pointless;
      // below it, WAF stops a single runaway token before it eats the stage's budget.
      expect(perToken).toBeLessThanOrEqual(stages[stage].api.throttleRatePerSecond * 300);
    });

    it('counts, with a reason, the managed rules that would refuse legitimate calls', () => {
      const common = rule('AWSManagedRulesCommonRuleSet')?.Statement.ManagedRuleGroupStatement;

      expect(common?.RuleActionOverrides).toEqual(
        Object.keys(WAF_COUNTED_RULES.AWSManagedRulesCommonRuleSet ?? {}).map((Name) => ({
          Name,
          ActionToUse: { Count: {} },
        })),
      );
      expect(Object.keys(WAF_COUNTED_RULES.AWSManagedRulesCommonRuleSet ?? {}).sort()).toEqual([
        'NoUserAgent_HEADER',
        'SizeRestrictions_BODY',
      ]);
      for (const reason of Object.values(WAF_COUNTED_RULES).flatMap((r) => Object.values(r)))
        expect(reason.length).toBeGreaterThan(40);
      expect(rule('AWSManagedRulesKnownBadInputsRuleSet')).toBeDefined();
    });

    it('logs what it blocked or counted to aws-waf-logs-*, the token redacted', () => {
      const { template } = stateless(stage);
      const [[logGroupId, logGroup] = []] = resourcesOf(template, 'AWS::Logs::LogGroup').filter(([, r]) =>
        String(r.Properties?.LogGroupName ?? '').startsWith('aws-waf-logs-'),
      );

      expect(logGroup?.Properties?.RetentionInDays).toBe(stages[stage].logRetentionDays);
      const [[, logging] = []] = resourcesOf(template, 'AWS::WAFv2::LoggingConfiguration');
      expect(JSON.stringify(logging?.Properties?.LogDestinationConfigs)).toContain(logGroupId);
      expect(logging?.Properties).toMatchObject({
        RedactedFields: [{ SingleHeader: { Name: 'authorization' } }],
        LoggingFilter: {
          DefaultBehavior: 'DROP',
          Filters: [
            {
              Behavior: 'KEEP',
              Requirement: 'MEETS_ANY',
              Conditions: [
                { ActionCondition: { Action: 'BLOCK' } },
                { ActionCondition: { Action: 'COUNT' } },
              ],
            },
          ],
        },
      });
    });
  });

  it('guards non-public routes, and only those, once an authorizer is given', () => {
    const stack = new Stack(new App({ outdir: testOutdir(), builtinCloudFormationValidation: false }));
    const fn = new lambda.Function(stack, 'Fn', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('export const handler = async () => ({})'),
    });
    const authorizer = new apigw.TokenAuthorizer(stack, 'Authorizer', { handler: fn });
    const functions = Object.fromEntries(
      Object.keys(lambdaFunctions).map((id) => [id, { fn, target: fn }]),
    ) as never;

    new RestApi(stack, 'Api', {
      stage: stages.localstack,
      apiName: 'test',
      routes: httpRoutes,
      functions,
      authorizer,
    });

    const methods = Template.fromStack(stack).findResources('AWS::ApiGateway::Method');
    const custom = Object.values(methods).filter((m) => m.Properties.AuthorizationType === 'CUSTOM');
    expect(custom).toHaveLength(httpRoutes.filter((r) => !isPublic(r)).length);
    expect(Object.values(methods).length - custom.length).toBe(httpRoutes.filter(isPublic).length);
  });

  it('outputs the API URL', () => {
    stateless('dev').template.hasOutput('ApiUrl', { Value: Match.anyValue() });
  });
});

describe('stateless stack: consumers, relay and deploy actions', () => {
  it('maps each consumer to the topic in its own consumer group, from the start, with bounded retries', () => {
    const { template, stack } = stateless('dev');
    const c = stages.dev.consumers;

    template.resourceCountIs('AWS::Lambda::EventSourceMapping', Object.keys(consumerFunctions).length);
    for (const [id, spec] of Object.entries(consumerFunctions)) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        // The live alias (asserted below): `<function name>:live`, the name taken from the alias's ARN.
        FunctionName: Match.anyValue(),
        EventSourceArn: Match.anyValue(),
        Topics: ['route-events'],
        AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: spec.consumerGroup },
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: c.batchSize,
        MaximumBatchingWindowInSeconds: c.maxBatchingWindowSeconds,
        MaximumRetryAttempts: c.retryAttempts,
        MaximumRecordAgeInSeconds: c.maxRecordAgeSeconds,
        BisectBatchOnFunctionError: true,
        DestinationConfig: {
          OnFailure: {
            Destination: {
              'Fn::GetStackOutput': Match.objectLike({
                OutputName: Match.stringLikeRegexp('PublishOutputFnGetAttFailureQueue'),
              }),
            },
          },
        },
        ProvisionedPollerConfig: Match.objectLike({
          MinimumPollers: c.minPollers,
          MaximumPollers: c.maxPollers,
        }),
      });
      const aliasId = liveAliasId(stack.functions[id as AppFunctionId] as AppFunction, stack);
      const mapping = resourcesOf(template, 'AWS::Lambda::EventSourceMapping').find(([, m]) =>
        JSON.stringify(m.Properties?.AmazonManagedKafkaEventSourceConfig).includes(spec.consumerGroup),
      )?.[1];
      const target = JSON.stringify(mapping?.Properties?.FunctionName);
      expect(target, id).toContain(`{"Ref":"${aliasId}"}`);
      expect(target, id).toMatch(/":live"\]\]\}$/);
    }
  });

  it('lets consumers read only their topic and their own group', () => {
    const { template } = stateless('dev');
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));

    for (const spec of Object.values(consumerFunctions)) {
      expect(policies).toContain(`/${spec.consumerGroup}"`);
    }
    expect(policies).toContain('/route-events"');
    expect(policies).not.toMatch(/kafka-cluster:\*|"kafka:\*"/);
  });

  it('runs the outbox relay every minute without overlapping retries', () => {
    const { template, stack } = stateless('dev');

    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [
        Match.objectLike({
          Arn: { Ref: liveAliasId(stack.functions.outboxRelay as AppFunction, stack) },
          RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        }),
      ],
    });
    // Lambda's own asynchronous retries (two by default) would overlap the next tick as well.
    const [[, invokeConfig] = []] = resourcesOf(template, 'AWS::Lambda::EventInvokeConfig');
    expect(invokeConfig?.Properties).toMatchObject({ MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 });
    // The alias's qualifier (`live`), taken from its ARN.
    const relayAlias = liveAliasId(stack.functions.outboxRelay as AppFunction, stack);
    expect(invokeConfig?.Properties?.Qualifier).toEqual({
      'Fn::Select': [7, { 'Fn::Split': [':', { Ref: relayAlias }] }],
    });
  });

  it.each(['dev', 'prod'] as const)(
    'keeps an outbox relay polling at all times in %s: each run outlasts the tick, within its timeout',
    (name) => {
      const { fnResource, envOf } = stateless(name);
      const relay = fnResource('outboxRelay');
      const env = envOf('outboxRelay');
      const runMs = Number(env.RELAY_MAX_RUN_MS);
      const timeoutMs = Number(relay.Timeout) * 1000;

      expect(env.RELAY_POLL_INTERVAL_MS).toBe(String(stages[name].events.relayPollIntervalMs));
      // A run outlasts two ticks: with one tick late or lost a relay still polls. Every run that can
      // overlap fits the reserved concurrency, and a run stops polling before its timeout.
      expect(runMs).toBeGreaterThan(2 * RELAY_RUN.everyMs);
      expect(relay.ReservedConcurrentExecutions).toBe(RELAY_RUNS_AT_ONCE);
      expect(RELAY_RUNS_AT_ONCE).toBe(Math.ceil(runMs / RELAY_RUN.everyMs));
      expect(runMs + RELAY_RUN.safetyMarginMs).toBeLessThanOrEqual(timeoutMs);
    },
  );

  it('creates the topic and applies migrations through Provider-backed custom resources', () => {
    const { template } = stateless('dev');

    template.hasResourceProperties('Custom::KafkaTopic', {
      ServiceToken: Match.anyValue(),
      topic: 'route-events',
      numPartitions: stages.dev.kafka.partitions,
      replicationFactor: stages.dev.kafka.replicationFactor,
    });
    template.hasResourceProperties('Custom::Migrations', {
      ServiceToken: Match.anyValue(),
      migrationsDir: 'migrations',
      migrationsHash: Match.stringLikeRegexp('^[0-9a-f]{32}$'),
    });
    // The Provider framework's own function, one per custom resource, outside the VPC.
    const frameworks = resourcesOf(template, 'AWS::Lambda::Function').filter(([, f]) =>
      String(f.Properties?.Description ?? '').includes('AWS CDK resource provider framework'),
    );
    expect(frameworks).toHaveLength(3);
    for (const [, f] of frameworks) expect(f.Properties?.VpcConfig).toBeUndefined();
  });

  it.each(['dev', 'prod'] as const)(
    '%s: sets up the audit store as the DocumentDB master; the audit functions connect as their own user',
    (stage) => {
      const { template, envOf } = stateless(stage);
      const [[, setup] = []] = resourcesOf(template, 'Custom::AuditStoreSetup');
      const appSecret = JSON.stringify(setup?.Properties?.appUserSecretArn);

      expect(setup?.Properties).toMatchObject({
        users: 'managed',
        indexesHash: expect.stringMatching(/^[0-9a-f]{16}$/),
      });
      expect(appSecret).toContain('AuditStoreAppSecret');
      expect(JSON.stringify(envOf('auditStoreSetup').MONGO_SECRET_ARN)).toContain(
        'AuditStoreSecretAttachment',
      );
      expect(envOf('auditStoreSetup').MONGO_CREATE_INDEXES).toBe('true');
      for (const id of ['audit', 'auditQuery'] as const) {
        expect(JSON.stringify(envOf(id).MONGO_SECRET_ARN), id).toBe(appSecret);
        // The deploy step made the indexes; the functions' user may only find and insert.
        expect(envOf(id).MONGO_CREATE_INDEXES, id).toBe('false');
      }
      // The master's secret is readable by the setup function alone.
      const readers = resourcesOf(template, 'AWS::IAM::Policy').filter(([, p]) =>
        JSON.stringify(p.Properties?.PolicyDocument).includes('AuditStoreSecretAttachment'),
      );
      expect(readers.map(([id]) => id)).toEqual([expect.stringMatching(/^auditStoreSetup/)]);
    },
  );

  it('runs the audit store setup on the local stage too, creating only indexes where the Mongo-wire server has no users', () => {
    const { template } = stateless('local');

    template.hasResourceProperties('Custom::AuditStoreSetup', {
      users: 'none',
      appUserSecretArn: Match.absent(),
    });
  });

  it.each(['dev', 'prod'] as const)(
    '%s: resolves the IAM bootstrap brokers once per deploy, from outside the VPC, for the Kafka clients only',
    (stage) => {
      const { template, envOf, resources } = stateless(stage);
      const [[id, lookup] = []] = resourcesOf(template, BOOTSTRAP_BROKERS_RESOURCE_TYPE);
      const create = JSON.parse(JSON.stringify(lookup?.Properties?.Create)) as unknown;

      // Create and Update are the same GetBootstrapBrokers call on the cluster, keeping only the IAM list;
      // the physical id carries the broker count, so adding brokers re-resolves it.
      expect(JSON.stringify(create)).toContain('"service\\":\\"Kafka\\"');
      expect(JSON.stringify(create)).toContain('"action\\":\\"getBootstrapBrokers\\"');
      expect(JSON.stringify(create)).toContain(`"outputPaths\\":[\\"${IAM_BROKERS_FIELD}\\"]`);
      expect(JSON.stringify(create)).toMatch(/PublishOutputFnGetAttKafka[A-Za-z0-9]*Arn/);
      expect(JSON.stringify(create)).toContain(`brokers-${stages[stage].kafka.brokers}`);
      expect(lookup?.Properties?.Update).toEqual(lookup?.Properties?.Create);
      expect(lookup?.Properties?.InstallLatestAwsSdk).toBe(false);

      for (const fnId of ['outboxRelay', 'createTopic', 'health'] as const) {
        expect(envOf(fnId).KAFKA_BROKERS, fnId).toEqual({ 'Fn::GetAtt': [id, IAM_BROKERS_FIELD] });
      }
      for (const fnId of [
        'resolveRoute',
        'upsertRoute',
        'setRouteState',
        'cacheInvalidation',
        'audit',
      ] as const) {
        expect(envOf(fnId).KAFKA_BROKERS, fnId).toBeUndefined();
      }
      // Its Lambda (CDK's singleton) runs outside the VPC: it reaches the public MSK API.
      const token = JSON.stringify(lookup?.Properties?.ServiceToken);
      const handler = Object.entries(resources).find(([fnId]) => token.includes(fnId))?.[1];
      expect(handler?.Type).toBe('AWS::Lambda::Function');
      expect(handler?.Properties.VpcConfig).toBeUndefined();
      // Its role may call GetBootstrapBrokers on this cluster and nothing else of MSK; no app function may.
      type Statement = { Action: string | string[]; Resource: unknown };
      const grants = resourcesOf(template, 'AWS::IAM::Policy').flatMap(([policyId, p]) => {
        const { Statement = [] } = (p.Properties?.PolicyDocument ?? {}) as { Statement?: Statement[] };
        return Statement.filter((s) => [s.Action].flat().includes('kafka:GetBootstrapBrokers')).map((s) => ({
          policyId,
          resource: JSON.stringify(s.Resource),
        }));
      });
      const consumerPolicy = (policyId: string) =>
        Object.keys(consumerFunctions).some((fnId) => policyId.startsWith(fnId));
      const lookupGrants = grants.filter(({ policyId }) => !consumerPolicy(policyId));
      expect(lookupGrants).toHaveLength(1);
      expect(lookupGrants[0]?.policyId).toMatch(/^KafkaBootstrapBrokers/);
      expect(lookupGrants[0]?.resource).toMatch(/^\{"Fn::GetStackOutput":.*Kafka[A-Za-z0-9]*Arn/);
    },
  );
});

describe('stateless stack: IAM', () => {
  /** Actions AWS only authorizes on Resource "*", and why they are here. */
  const WILDCARD_EXCEPTIONS: Record<string, string> = {
    'xray:PutTraceSegments': 'active tracing; X-Ray has no resource-level permissions',
    'xray:PutTelemetryRecords': 'active tracing; X-Ray has no resource-level permissions',
    'ec2:CreateNetworkInterface': 'Lambda VPC ENIs',
    'ec2:DescribeNetworkInterfaces': 'Lambda VPC ENIs',
    'ec2:DescribeSubnets': 'Lambda VPC ENIs',
    'ec2:DeleteNetworkInterface': 'Lambda VPC ENIs',
    'ec2:AssignPrivateIpAddresses': 'Lambda VPC ENIs',
    'ec2:UnassignPrivateIpAddresses': 'Lambda VPC ENIs',
    'ec2:DescribeVpcs': 'MSK event source mapping network discovery',
    'ec2:DescribeSecurityGroups': 'MSK event source mapping network discovery',
  };

  type Statement = { Action: string | string[]; Resource: unknown; Effect: string };
  const wildcardActions = (stage: 'dev' | 'prod' | 'localstack') => {
    const { stacks, template } = synthStage(stage);
    const all = [stacks.network, stacks.stateful, stacks.stateless, stacks.observability].flatMap((s) => {
      if (!s) return [];
      const policies = template(s).findResources('AWS::IAM::Policy');
      const roles = template(s).findResources('AWS::IAM::Role');
      return [
        ...Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]),
        ...Object.values(roles).flatMap((r) =>
          ((r.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[]).flatMap(
            (p) => p.PolicyDocument.Statement,
          ),
        ),
      ];
    });
    return new Set(
      all
        .filter((s) => s.Effect === 'Allow' && [s.Resource].flat().includes('*'))
        .flatMap((s) => [s.Action].flat()),
    );
  };

  it.each(['dev', 'prod', 'localstack'] as const)(
    'allows Resource "*" only for the actions AWS requires it for (%s)',
    (stage) => {
      const actions = wildcardActions(stage);

      for (const action of actions) expect(Object.keys(WILDCARD_EXCEPTIONS), action).toContain(action);
    },
  );

  it('uses every listed exception on the AWS target (the list is not stale)', () => {
    expect([...wildcardActions('dev')].sort()).toEqual(Object.keys(WILDCARD_EXCEPTIONS).sort());
  });

  it('never grants a wildcard action', () => {
    const { template } = stateless('prod');

    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).not.toMatch(/"[a-z0-9-]+:\*"/);
  });
});

describe('stateless stack on LocalStack', () => {
  it('points the functions at the compose containers, outside any VPC', () => {
    const { envOf, fnResource } = stateless('localstack');

    expect(fnResource('resolveRoute').VpcConfig).toBeUndefined();
    expect(fnResource('resolveRoute').ReservedConcurrentExecutions).toBeUndefined();
    expect(envOf('resolveRoute')).toMatchObject({
      DATABASE_URL: 'postgres://postgres@postgres:5432/traffic_manager',
      DATABASE_SSL: 'disable',
      REDIS_URL: 'redis://redis:6379',
    });
    expect(envOf('outboxRelay')).toMatchObject({ KAFKA_BROKERS: 'kafka:29092', KAFKA_AUTH: 'none' });
    expect(envOf('auditQuery')).toMatchObject({ MONGO_URL: 'mongodb://mongo:27017' });
  });

  it('leaves the consumers to the local runner: no Kafka event source mappings', () => {
    const { template, stack } = stateless('localstack');

    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 0);
    expect(stack.functions.cacheInvalidation).toBeUndefined();
  });
});

describe('stateless stack: safe deploys', () => {
  /** Invoked through the API, the authorizer, an event source or the schedule: behind the live alias. */
  const published = [
    ...Object.keys(lambdaFunctions),
    'authorizer',
    ...Object.keys(consumerFunctions),
    ...Object.keys(scheduledFunctions),
  ] as AppFunctionId[];
  const groupsOf = (template: Template) => resourcesOf(template, 'AWS::CodeDeploy::DeploymentGroup');

  it.each(['dev', 'prod'] as const)(
    'publishes each invoked function as a version behind a live alias, the deploy and operator functions not (%s)',
    (stage) => {
      const { stack, resources } = stateless(stage);

      for (const id of allIds(stage)) {
        const fn = stack.functions[id] as AppFunction;
        if (!published.includes(id)) {
          expect(fn.live, id).toBeUndefined();
          continue;
        }
        const alias = resources[liveAliasId(fn, stack)];
        expect(alias?.Type, id).toBe('AWS::Lambda::Alias');
        expect(alias?.Properties.Name, id).toBe('live');
        expect(alias?.Properties.FunctionName, id).toEqual({ Ref: logicalIdOf(fn.fn, stack) });
        const version = alias?.Properties.FunctionVersion as { 'Fn::GetAtt': [string, string] };
        const [versionId] = version['Fn::GetAtt'];
        expect(resources[versionId]?.Type, id).toBe('AWS::Lambda::Version');
      }
      expect(resourcesOf(stateless(stage).template, 'AWS::Lambda::Alias')).toHaveLength(published.length);
    },
  );

  it('invokes the authorizer through its live alias', () => {
    const { template, stack } = stateless('prod');
    const aliasId = liveAliasId(stack.functions.authorizer as AppFunction, stack);

    const [[, authorizer] = []] = resourcesOf(template, 'AWS::ApiGateway::Authorizer');
    expect(JSON.stringify(authorizer?.Properties?.AuthorizerUri)).toContain(`{"Ref":"${aliasId}"}`);
    // API Gateway may invoke the alias (the permission names it, not $LATEST).
    const permissions = resourcesOf(template, 'AWS::Lambda::Permission').filter(
      ([, p]) => JSON.stringify(p.Properties?.FunctionName) === JSON.stringify({ Ref: aliasId }),
    );
    expect(permissions.length).toBeGreaterThanOrEqual(1);
  });

  it.each([
    ['prod', 'CodeDeployDefault.LambdaCanary10Percent5Minutes'],
    ['dev', 'CodeDeployDefault.LambdaAllAtOnce'],
  ] as const)(
    'shifts every live alias with CodeDeploy in %s (%s), rolling back on alarms',
    (stage, config) => {
      const { template, stack, resources } = stateless(stage);
      const groups = groupsOf(template);

      expect(groups).toHaveLength(published.length);
      for (const id of published) {
        const fn = stack.functions[id] as AppFunction;
        const alias = template.toJSON().Resources[liveAliasId(fn, stack)] as {
          UpdatePolicy?: { CodeDeployLambdaAliasUpdate?: { DeploymentGroupName: { Ref: string } } };
        };
        const groupId = alias.UpdatePolicy?.CodeDeployLambdaAliasUpdate?.DeploymentGroupName.Ref;
        const group = resources[groupId ?? '']?.Properties;
        expect(group, id).toBeDefined();
        expect(group?.DeploymentConfigName, id).toBe(config);
        expect(group?.AutoRollbackConfiguration, id).toEqual({
          Enabled: true,
          Events: expect.arrayContaining(['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_ALARM']),
        });
        // The rollback alarms: the alias's error rate and p99 duration; the API's 5xx for API functions.
        const configured = group?.AlarmConfiguration as { Alarms: { Name: { Ref: string } }[] };
        const alarms = configured.Alarms.map((a) => resources[a.Name.Ref]?.Properties as Env);
        const aliasAlarms = alarms.filter((a) =>
          JSON.stringify(a).includes(
            `"Value":{"Fn::Join":["",[{"Ref":"${logicalIdOf(fn.fn, stack)}"},":live"]]}`,
          ),
        );
        expect(aliasAlarms.map((a) => a.AlarmName).sort(), id).toEqual([
          `traffic-manager-${stage}-rollback-${id}-errors`,
          `traffic-manager-${stage}-rollback-${id}-p99`,
        ]);
        const api5xx = alarms.filter((a) => a.MetricName === '5XXError');
        expect(api5xx.length, id).toBe(id in lambdaFunctions || id === 'authorizer' ? 1 : 0);
      }
    },
  );

  it("rolls back at the stage's error rate and at the stage's API latency targets", () => {
    const { template } = stateless('prod');
    const p = stages.prod;
    const alarm = (name: string) =>
      resourcesOf(template, 'AWS::CloudWatch::Alarm').find(([, a]) => a.Properties?.AlarmName === name)?.[1]
        .Properties;

    expect(alarm('traffic-manager-prod-rollback-resolveRoute-errors')).toMatchObject({
      Threshold: p.deploys.rollbackErrorPercent,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(alarm('traffic-manager-prod-rollback-resolveRoute-p99')).toMatchObject({
      Threshold: p.alarms.resolveP99Ms,
      ExtendedStatistic: 'p99',
    });
    expect(alarm('traffic-manager-prod-rollback-authorizer-p99')?.Threshold).toBe(p.alarms.apiP99Ms);
    // Consumers: 80 % of their timeout; the relay runs to its deadline by design, so near its timeout only.
    expect(alarm('traffic-manager-prod-rollback-audit-p99')?.Threshold).toBe(48_000);
    const relayP99 = alarm('traffic-manager-prod-rollback-outboxRelay-p99')?.Threshold as number;
    expect(relayP99).toBeGreaterThan(RELAY_RUN.runMs);
    expect(relayP99).toBeLessThan(RELAY_RUN.timeoutMs);
    expect(alarm('traffic-manager-prod-rollback-api-5xx')?.Threshold).toBe(p.alarms.api5xxPerMinute);
  });

  it('keeps provisioned concurrency, auto-scaled on utilization, for resolve and the authorizer in prod only', () => {
    const prod = stateless('prod');
    const pc = stages.prod.deploys.provisionedConcurrency;

    expect(Object.keys(pc).sort()).toEqual(['authorizer', 'resolveRoute']);
    for (const [id, config] of Object.entries(pc) as [AppFunctionId, { min: number; max: number }][]) {
      const fn = prod.stack.functions[id] as AppFunction;
      const aliasId = liveAliasId(fn, prod.stack);
      expect(prod.resources[aliasId]?.Properties.ProvisionedConcurrencyConfig).toEqual({
        ProvisionedConcurrentExecutions: config.min,
      });
      expect(config.max).toBeLessThanOrEqual(reservedConcurrencyOf(stages.prod, id) ?? 0);
      const [[targetId, target] = []] = resourcesOf(
        prod.template,
        'AWS::ApplicationAutoScaling::ScalableTarget',
      ).filter(([, t]) => JSON.stringify(t.Properties?.ResourceId).includes(`{"Ref":"${aliasId}"}`));
      expect(target?.Properties).toMatchObject({
        MinCapacity: config.min,
        MaxCapacity: config.max,
        ScalableDimension: 'lambda:function:ProvisionedConcurrency',
      });
      prod.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        ScalingTargetId: { Ref: targetId },
        TargetTrackingScalingPolicyConfiguration: Match.objectLike({
          PredefinedMetricSpecification: { PredefinedMetricType: 'LambdaProvisionedConcurrencyUtilization' },
        }),
      });
    }
    prod.template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 2);
    stateless('dev').template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    for (const [, alias] of resourcesOf(stateless('dev').template, 'AWS::Lambda::Alias')) {
      expect(alias.Properties?.ProvisionedConcurrencyConfig).toBeUndefined();
    }
  });

  it("refuses provisioned concurrency beyond a function's reserved concurrency", () => {
    const stage = {
      ...stages.prod,
      deploys: {
        ...stages.prod.deploys,
        provisionedConcurrency: { authorizer: { min: 1, max: 1000, utilization: 0.7 } },
      },
    };
    const app = createApp({
      outdir: testOutdir(),
      builtinCloudFormationValidation: false,
      context: { 'aws:cdk:bundling-stacks': [] },
    });

    expect(() => buildTrafficManager(app, stage)).toThrow(
      /authorizer: provisioned concurrency up to 1000 exceeds its reserved 50/,
    );
  });

  it('publishes aliases on LocalStack but leaves CodeDeploy out (not in its community edition)', () => {
    const { template } = stateless('localstack');

    expect(resourcesOf(template, 'AWS::Lambda::Alias').length).toBeGreaterThan(0);
    template.resourceCountIs('AWS::CodeDeploy::Application', 0);
    template.resourceCountIs('AWS::CodeDeploy::DeploymentGroup', 0);
  });
});
