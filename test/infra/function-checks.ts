import type { Stack } from 'aws-cdk-lib';
import type { AppFunctionId } from '#infra/config/stages';
import type { AppFunction } from '#infra/constructs/app-function';
import {
  type Binding,
  type Bindings,
  bindingsOf,
  missingSettings,
  variablesOf,
} from '#shared/config/bindings';
import { logicalIdOf } from './synth.ts';

/**
 * Checks of one function in a synthesized template (plain JSON), against its manifest entry. Functions
 * over a template object, so a test can mutate the template and show that a check fails.
 */
export type TemplateJson = {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
};

/** One resource's properties (a missing resource fails the check loudly). */
export const propertiesOf = (template: TemplateJson, logicalId: string): Record<string, unknown> => {
  const r = template.Resources[logicalId];
  if (!r) throw new Error(`no resource ${logicalId}`);
  return r.Properties ?? {};
};

/** The Lambda logical id of each function the stack made. */
export const functionLogicalIds = (
  stack: Stack & { functions: Readonly<Record<AppFunctionId, AppFunction | undefined>> },
): Partial<Record<AppFunctionId, string>> =>
  Object.fromEntries(
    Object.entries(stack.functions).flatMap(([id, fn]) => (fn ? [[id, logicalIdOf(fn.fn, stack)]] : [])),
  );

/** What every function has, whatever it binds (AppFunction's house defaults). */
export const BASE_VARIABLES = [
  'STAGE',
  'LOG_LEVEL',
  'POWERTOOLS_SERVICE_NAME',
  'METRICS_BACKEND',
  'METRICS_NAMESPACE',
  'TRACING',
  'NODE_OPTIONS',
];

const BASE_ACTIONS = [
  'logs:CreateLogStream',
  'logs:PutLogEvents',
  'xray:PutTelemetryRecords@*',
  'xray:PutTraceSegments@*',
];
/** Lambda in a VPC manages its ENIs (the dev and prod stages). */
const VPC_ACTIONS = [
  'ec2:AssignPrivateIpAddresses@*',
  'ec2:CreateNetworkInterface@*',
  'ec2:DeleteNetworkInterface@*',
  'ec2:DescribeNetworkInterfaces@*',
  'ec2:DescribeSubnets@*',
  'ec2:UnassignPrivateIpAddresses@*',
];
const readSecret = (secret: string) => [
  `secretsmanager:DescribeSecret@secret:${secret}`,
  `secretsmanager:GetSecretValue@secret:${secret}`,
];
const SEND_TO_FAILURE_QUEUE = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];

/**
 * The IAM actions each binding implies, `action@resource` where the resource matters (MSK IAM ties each
 * kafka-cluster action to a cluster, topic or group resource: MSK developer guide, "kafka-actions").
 */
export const EXPECTED_ACTIONS: { readonly [B in Binding]-?: (use: NonNullable<Bindings[B]>) => string[] } = {
  database: () => readSecret('database'),
  cache: () => readSecret('cache'),
  auditStore: () => readSecret('auditStore'),
  tokenHashKey: () => readSecret('tokenHashKey'),
  idempotencyTable: () => [
    'dynamodb:DeleteItem',
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
  ],
  failureQueue: () => SEND_TO_FAILURE_QUEUE,
  // No kafka:GetBootstrapBrokers: the brokers come from the deploy (KAFKA_BROKERS).
  kafkaProducer: (p) => [
    'kafka-cluster:Connect@cluster',
    // kafkajs' idempotent producer sends InitProducerId: IDEMPOTENT_WRITE on the cluster.
    ...(p.idempotent ? ['kafka-cluster:WriteDataIdempotently@cluster'] : []),
    `kafka-cluster:DescribeTopic@topic:${p.topic}`,
    `kafka-cluster:WriteData@topic:${p.topic}`,
  ],
  kafkaAdmin: (a) => [
    'kafka-cluster:Connect@cluster',
    `kafka-cluster:DescribeTopic@topic:${a.topic}`,
    `kafka-cluster:CreateTopic@topic:${a.topic}`,
    `kafka-cluster:AlterTopic@topic:${a.topic}`,
  ],
  // What the MSK event source mapping does with the function's role (Lambda developer guide, MSK).
  // Metadata only: the readiness probe connects and describes the cluster and its topic.
  kafkaProbe: (t) => ['kafka-cluster:Connect@cluster', `kafka-cluster:DescribeTopic@topic:${t.topic}`],
  kafkaConsumer: (c) => [
    'kafka:DescribeCluster@cluster',
    'kafka:DescribeClusterV2@cluster',
    'kafka:GetBootstrapBrokers@cluster',
    'kafka-cluster:Connect@cluster',
    'kafka-cluster:DescribeClusterDynamicConfiguration@cluster',
    `kafka-cluster:DescribeTopic@topic:${c.topic}`,
    `kafka-cluster:ReadData@topic:${c.topic}`,
    `kafka-cluster:DescribeGroup@group:${c.consumerGroup}`,
    `kafka-cluster:AlterGroup@group:${c.consumerGroup}`,
    'ec2:DescribeSecurityGroups@*',
    'ec2:DescribeVpcs@*',
    // The mapping's on-failure destination.
    ...SEND_TO_FAILURE_QUEUE,
  ],
};

export const expectedActions = (b: Bindings, inVpc: boolean): Set<string> => {
  const expected = new Set([...BASE_ACTIONS, ...(inVpc ? VPC_ACTIONS : [])]);
  for (const binding of bindingsOf(b)) {
    const expand = EXPECTED_ACTIONS[binding] as (use: unknown) => string[];
    for (const a of expand(b[binding])) expected.add(a);
  }
  return expected;
};

const SECRETS: [RegExp, string][] = [
  // The application user's secret: what the database binding reads. The master's: the migrations only.
  [/(?:Exports|Publish)OutputRefDatabaseAppSecret/, 'database'],
  [/(?:Exports|Publish)OutputRefDatabaseSecret/, 'databaseAdmin'],
  [/(?:Exports|Publish)OutputRefCacheAuthToken/, 'cache'],
  // Likewise the audit functions' user (the audit-store binding) and the DocumentDB master (the setup step).
  [/(?:Exports|Publish)OutputRefAuditStoreAppSecret/, 'auditStore'],
  [/(?:Exports|Publish)OutputRefAuditStoreSecret/, 'auditStoreAdmin'],
  [/(?:Exports|Publish)OutputRefTokenHashKey/, 'tokenHashKey'],
];

/** The resource an action is granted on, as far as the checks tell resources apart. */
const resourceTag = (action: string, resource: unknown): string | undefined => {
  const text = JSON.stringify(resource);
  if (resource === '*') return '*';
  if (action.startsWith('kafka')) {
    const named = /:(topic|group)\/.*"\/([^"/]+)"\]\]\}$/.exec(text);
    if (named) return `${named[1]}:${named[2]}`;
    if (/(?:Exports|Publish)OutputFnGetAttKafka[A-Za-z0-9]*Arn/.test(text)) return 'cluster';
    return `unknown:${text}`;
  }
  if (action.startsWith('secretsmanager:')) {
    const secret = SECRETS.find(([re]) => re.test(text));
    return `secret:${secret?.[1] ?? text}`;
  }
  return undefined;
};

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

/** Every `action@resource` the function's role allows, from its role's inline policies. */
export const grantedActions = (template: TemplateJson, fnLogicalId: string): Set<string> => {
  const role = (
    propertiesOf(template, fnLogicalId).Role as { 'Fn::GetAtt'?: [string, string] } | undefined
  )?.['Fn::GetAtt']?.[0];
  const granted = new Set<string>();
  for (const r of Object.values(template.Resources)) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    if (!JSON.stringify(r.Properties.Roles).includes(`{"Ref":"${role}"}`)) continue;
    for (const s of (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement) {
      if (s.Effect !== 'Allow') continue;
      const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
      const resources = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
      for (const action of actions) {
        for (const resource of resources) {
          const tag = resourceTag(action, resource);
          granted.add(tag === undefined ? action : `${action}@${tag}`);
        }
      }
    }
  }
  return granted;
};

const difference = (a: Set<string>, b: Set<string>) => [...a].filter((x) => !b.has(x)).sort();

/** Problems with one function's permissions: actions missing for its bindings, or granted beyond them. */
/**
 * Beyond the bindings, decided by the stack: the migrate and audit store setup functions connect as their
 * store's master (and read the app user's secret, as their binding, to create that user).
 */
export const EXTRA_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  migrate: readSecret('databaseAdmin'),
  auditStoreSetup: readSecret('auditStoreAdmin'),
};

/** Beyond the bindings, set by the stack: the relay's run length and poll interval (RELAY_RUN, the stage). */
export const EXTRA_VARIABLES: Readonly<Record<string, readonly string[]>> = {
  outboxRelay: ['RELAY_MAX_RUN_MS', 'RELAY_POLL_INTERVAL_MS'],
};

export const checkPermissions = (
  template: TemplateJson,
  fnLogicalId: string,
  bindings: Bindings,
  inVpc: boolean,
  extra: readonly string[] = [],
): string[] => {
  const expected = expectedActions(bindings, inVpc);
  for (const action of extra) expected.add(action);
  const granted = grantedActions(template, fnLogicalId);
  return [
    ...difference(expected, granted).map((a) => `missing ${a}`),
    ...difference(granted, expected).map((a) => `not declared: ${a}`),
  ];
};

/**
 * Problems with one function's environment: a variable its bindings set that is absent, one no binding
 * sets, or a binding the runtime check (requireBindings) would find unsatisfied.
 */
export const checkEnvironment = (
  template: TemplateJson,
  fnLogicalId: string,
  bindings: Bindings,
  extra: readonly string[] = [],
): string[] => {
  const env = ((
    template.Resources[fnLogicalId]?.Properties?.Environment as { Variables?: Record<string, unknown> }
  )?.Variables ?? {}) as Record<string, unknown>;
  const expected = new Set([...BASE_VARIABLES, ...variablesOf(bindings, 'aws'), ...extra]);
  const actual = new Set(Object.keys(env));
  return [
    ...difference(expected, actual).map((v) => `missing ${v}`),
    ...difference(actual, expected).map((v) => `not declared: ${v}`),
    ...missingSettings(bindings, env).map(
      (p) => `requireBindings would refuse ${p.binding}: ${p.missing.join(', ')}`,
    ),
  ];
};
