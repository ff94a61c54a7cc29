/**
 * What a function may be bound to, and the environment variables each binding sets. The one list both
 * sides read: config.ts parses these names, infra/constructs/app-function.ts's bind* methods set them,
 * functions/function-manifest.ts declares which bindings each function has. Pure data: no process.env.
 */

/** The Kafka topic every route change is published to (the stacks, the config default, the manifest). */
export const ROUTE_EVENTS_TOPIC = 'route-events';

/** Variable names, grouped by the binding (or bindings) that set them. */
export const ENV = {
  database: {
    url: 'DATABASE_URL',
    host: 'DATABASE_HOST',
    port: 'DATABASE_PORT',
    name: 'DATABASE_NAME',
    secretArn: 'DATABASE_SECRET_ARN',
    ssl: 'DATABASE_SSL',
    poolMax: 'DATABASE_POOL_MAX',
  },
  cache: {
    backend: 'CACHE_BACKEND',
    redisUrl: 'REDIS_URL',
    redisAuthSecretArn: 'REDIS_AUTH_SECRET_ARN',
    upstashUrl: 'UPSTASH_REDIS_REST_URL',
    upstashToken: 'UPSTASH_REDIS_REST_TOKEN',
  },
  kafka: {
    brokers: 'KAFKA_BROKERS',
    mskClusterArn: 'MSK_CLUSTER_ARN',
    auth: 'KAFKA_AUTH',
    tls: 'KAFKA_TLS',
    topic: 'ROUTE_EVENTS_TOPIC',
  },
  auditStore: {
    url: 'MONGO_URL',
    secretArn: 'MONGO_SECRET_ARN',
    tlsCaFile: 'MONGO_TLS_CA_FILE',
    createIndexes: 'MONGO_CREATE_INDEXES',
  },
  tokenHashKey: { key: 'TOKEN_HASH_KEY', secretArn: 'TOKEN_HASH_KEY_SECRET_ARN' },
  idempotencyTable: { table: 'IDEMPOTENCY_TABLE' },
  failureQueue: { destination: 'FAILURE_DESTINATION', queueUrl: 'FAILURE_QUEUE_URL' },
} as const;

export interface KafkaTopicUse {
  readonly topic: string;
}

/** The outbox relay: kafkajs with `idempotent: true` (IDEMPOTENT_WRITE on the cluster). */
export interface KafkaProducerUse extends KafkaTopicUse {
  readonly idempotent: true;
}

/** An MSK event source mapping: the records arrive in the event, the function itself opens no client. */
export interface KafkaConsumerUse extends KafkaTopicUse {
  readonly consumerGroup: string;
}

/**
 * The bindings one function has: a key present means the function uses that resource. Each key is one
 * `AppFunction.bind…` (or `consumeKafka`) call in infra, which grants the IAM and sets the variables.
 */
export interface Bindings {
  readonly database?: true;
  readonly cache?: true;
  readonly kafkaProducer?: KafkaProducerUse;
  readonly kafkaConsumer?: KafkaConsumerUse;
  readonly kafkaAdmin?: KafkaTopicUse;
  /** Connects and reads cluster and topic metadata, nothing else: the readiness probe. */
  readonly kafkaProbe?: KafkaTopicUse;
  readonly auditStore?: true;
  readonly idempotencyTable?: true;
  readonly failureQueue?: true;
  readonly tokenHashKey?: true;
}

export type Binding = keyof Bindings;

export const BINDINGS = [
  'database',
  'cache',
  'kafkaProducer',
  'kafkaConsumer',
  'kafkaAdmin',
  'kafkaProbe',
  'auditStore',
  'idempotencyTable',
  'failureQueue',
  'tokenHashKey',
] as const satisfies readonly Binding[];

export const bindingsOf = (b: Bindings): Binding[] => BINDINGS.filter((k) => b[k] !== undefined);

const { database: db, cache, kafka, auditStore, tokenHashKey, idempotencyTable, failureQueue } = ENV;

export interface BindingVariables {
  /** What the binding sets on the AWS target (AppFunction.bind…): exactly these names. */
  readonly aws: readonly string[];
  /** What it sets on the LocalStack target (compose containers instead of managed stores). */
  readonly local: readonly string[];
  /** Other complete forms the runtime accepts (a key in the environment locally, Upstash). */
  readonly alternatives?: readonly (readonly string[])[];
}

/**
 * Every binding that opens a Kafka client. On AWS the bootstrap brokers are resolved at deploy time
 * (KAFKA_BROKERS); a cluster ARN, looked up at cold start, is still accepted for a hand-made environment.
 */
const KAFKA_CLIENT: BindingVariables = {
  aws: [kafka.auth, kafka.tls, kafka.brokers, kafka.topic],
  local: [kafka.brokers, kafka.auth, kafka.topic],
  alternatives: [[kafka.auth, kafka.mskClusterArn, kafka.topic]],
};

/**
 * Per binding, the variables that make it usable. A function's environment satisfies a binding when it
 * holds every name of one form (AWS, LocalStack or an alternative); a Lambda missing them fails its cold
 * start (config.ts: requireBindings) instead of falling back to a localhost default.
 */
export const BINDING_VARIABLES: Readonly<Record<Binding, BindingVariables>> = {
  database: {
    aws: [db.host, db.port, db.name, db.secretArn, db.ssl, db.poolMax],
    local: [db.url, db.ssl],
  },
  cache: {
    aws: [cache.backend, cache.redisUrl, cache.redisAuthSecretArn],
    local: [cache.backend, cache.redisUrl],
    alternatives: [[cache.backend, cache.upstashUrl, cache.upstashToken]],
  },
  kafkaProducer: KAFKA_CLIENT,
  kafkaAdmin: KAFKA_CLIENT,
  kafkaProbe: KAFKA_CLIENT,
  // The event source mapping hands the function its records: nothing to configure.
  kafkaConsumer: { aws: [], local: [] },
  auditStore: {
    aws: [auditStore.url, auditStore.secretArn, auditStore.tlsCaFile, auditStore.createIndexes],
    local: [auditStore.url],
  },
  tokenHashKey: {
    aws: [tokenHashKey.secretArn],
    local: [tokenHashKey.secretArn],
    alternatives: [[tokenHashKey.key]],
  },
  idempotencyTable: { aws: [idempotencyTable.table], local: [idempotencyTable.table] },
  failureQueue: {
    aws: [failureQueue.destination, failureQueue.queueUrl],
    local: [failureQueue.destination, failureQueue.queueUrl],
  },
};

/** Every variable the given bindings set on one target. */
export const variablesOf = (b: Bindings, target: 'aws' | 'local'): Set<string> =>
  new Set(bindingsOf(b).flatMap((k) => BINDING_VARIABLES[k][target]));

/**
 * Pure: for each binding the environment does not satisfy, what is missing — the AWS form's absent
 * names, with the other accepted forms in parentheses. Empty when every binding is satisfied.
 */
export const missingSettings = (
  b: Bindings,
  env: Readonly<Record<string, unknown>>,
): { binding: Binding; missing: string[]; orElse: string[][] }[] => {
  const present = (name: string) => env[name] !== undefined && env[name] !== '';
  const problems: { binding: Binding; missing: string[]; orElse: string[][] }[] = [];
  for (const binding of bindingsOf(b)) {
    const v = BINDING_VARIABLES[binding];
    const forms = [v.aws, v.local, ...(v.alternatives ?? [])];
    if (forms.some((form) => form.every(present))) continue;
    const distinct = forms
      .slice(1)
      .filter((f) => f.join() !== v.aws.join())
      .map((f) => f.filter((n) => !present(n)));
    problems.push({ binding, missing: v.aws.filter((n) => !present(n)), orElse: distinct });
  }
  return problems;
};
