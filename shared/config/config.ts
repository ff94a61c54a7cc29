import * as z from 'zod';
import { type Bindings, ENV, missingSettings, ROUTE_EVENTS_TOPIC } from './bindings.ts';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** A token bucket as `<requests per second>/<burst>`, e.g. `50/100`. */
const rate = (fallback: `${number}/${number}`) =>
  z
    .string()
    .regex(/^\d{1,6}(\.\d{1,3})?\/\d{1,7}$/, { error: 'must be <per second>/<burst>, e.g. 50/100' })
    .default(fallback)
    .transform((s) => {
      const [perSecond, burst] = s.split('/').map(Number) as [number, number];
      return { perSecond, burst };
    })
    .refine((r) => r.perSecond > 0 && r.burst >= 1, { error: 'rate must be > 0 and burst >= 1' });

/** Every setting the functions and the local runner read. Parsed once; nothing else reads process.env. */
const envSchema = z.object({
  STAGE: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,20}$/)
    .default('local'),
  SERVICE_NAME: z.string().default('traffic-manager'),
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']).default('INFO'),
  /** Show dependency error details in 5xx bodies; off outside development. */
  EXPOSE_ERROR_DETAILS: bool.default(false),

  [ENV.database.url]: z.string().min(1).optional(),
  /** In AWS: RDS Proxy endpoint + a Secrets Manager secret {username, password} (the user name rotates too). */
  [ENV.database.host]: z.string().optional(),
  [ENV.database.port]: int(1, 65535).default(5432),
  [ENV.database.name]: z.string().default('traffic_manager'),
  [ENV.database.secretArn]: z.string().optional(),
  [ENV.database.ssl]: z.enum(['disable', 'require', 'verify-full']).default('disable'),
  DATABASE_SSL_CA_FILE: z.string().optional(),
  [ENV.database.poolMax]: int(1, 200).default(10),
  DATABASE_CONNECT_TIMEOUT_MS: int(50, 30_000).default(1000),
  DATABASE_QUERY_TIMEOUT_MS: int(50, 60_000).default(3000),

  /** `none` runs without the Redis tier (resolve goes to Postgres every time). */
  [ENV.cache.backend]: z.enum(['redis', 'upstash', 'none']).default('redis'),
  [ENV.cache.redisUrl]: z.string().min(1).optional(),
  REDIS_TLS: bool.optional(),
  REDIS_PASSWORD: z.string().optional(),
  /** In AWS: Secrets Manager secret holding the ElastiCache auth token ({password} or a plain string). */
  [ENV.cache.redisAuthSecretArn]: z.string().optional(),
  REDIS_COMMAND_TIMEOUT_MS: int(5, 10_000).default(50),
  /** Batches concurrent commands per tick: more throughput when one process serves many requests (the
   * local runner), a little more latency for one request at a time (a Lambda container). */
  REDIS_AUTO_PIPELINING: bool.default(false),
  [ENV.cache.upstashUrl]: z.string().url().optional(),
  [ENV.cache.upstashToken]: z.string().optional(),
  UPSTASH_TOKEN_SECRET_ARN: z.string().optional(),
  UPSTASH_TIMEOUT_MS: int(10, 10_000).default(300),

  CACHE_POSITIVE_TTL_SECONDS: int(1, 86_400).default(60),
  CACHE_NEGATIVE_TTL_SECONDS: int(1, 3_600).default(10),
  CACHE_TTL_JITTER_RATIO: z.coerce.number().min(0).max(1).default(0.1),
  /** In-container memory tier: 0 disables it; otherwise the longest a container may serve a stale answer. */
  MEMORY_CACHE_TTL_MS: int(0, 60_000).default(0),
  MEMORY_CACHE_MAX_ENTRIES: int(1, 1_000_000).default(10_000),

  /** Kafka: a broker list (on AWS resolved at deploy time), or an MSK cluster ARN whose brokers are looked up once. */
  [ENV.kafka.brokers]: z.string().optional(),
  [ENV.kafka.mskClusterArn]: z.string().optional(),
  [ENV.kafka.auth]: z.enum(['none', 'iam']).default('none'),
  [ENV.kafka.tls]: bool.default(false),
  KAFKA_CLIENT_ID: z.string().default('traffic-manager'),
  [ENV.kafka.topic]: z.string().default(ROUTE_EVENTS_TOPIC),
  /** Upper bound on the write path's after-commit publish; the relay picks up whatever is left. */
  PUBLISH_TIMEOUT_MS: int(50, 30_000).default(1000),
  /**
   * Whether a write answers only after its after-commit publish ended (true) or at once, the publish
   * going on behind the answer (false; a long-lived process only). Delivery does not depend on it: the
   * event is committed in the outbox and the relay publishes it if the writer does not (issue 15).
   */
  PUBLISH_BEFORE_ANSWER: bool.default(true),
  /**
   * Who publishes a write's event: the writer right after commit (`writer`; the relay takes what it leaves),
   * or the relay alone (`relay`): the write answers after commit and tombstone, and the event reaches Kafka
   * on the relay's next poll (RELAY_POLL_INTERVAL_MS). Either way it is committed with the change (issue 15).
   * Lambda: always `relay` (the write functions have no Kafka binding); elsewhere `writer` by default.
   */
  EVENT_PUBLISHER: z.enum(['writer', 'relay']).optional(),
  /** Used by the create-topic custom resource; -1 takes the broker's default.replication.factor. */
  KAFKA_TOPIC_PARTITIONS: int(1, 1000).default(6),
  KAFKA_TOPIC_REPLICATION_FACTOR: int(-1, 10).default(-1),
  /** Outbox relay: poll interval, rows per claim, and how long one invocation keeps polling. */
  RELAY_POLL_INTERVAL_MS: int(10, 60_000).default(500),
  RELAY_BATCH_SIZE: int(1, 5000).default(200),
  RELAY_MAX_RUN_MS: int(0, 900_000).default(50_000),
  /** How often the relay reports the outbox backlog (and flushes its metrics) while it runs. */
  RELAY_BACKLOG_REPORT_MS: int(0, 60_000).default(5000),

  /** Audit store (DocumentDB / MongoDB). MONGO_SECRET_ARN supplies {username, password} in AWS. */
  [ENV.auditStore.url]: z.string().min(1).optional(),
  [ENV.auditStore.secretArn]: z.string().optional(),
  MONGO_DATABASE: z.string().default('traffic_manager'),
  [ENV.auditStore.tlsCaFile]: z.string().optional(),
  /** false where the deploy step creates the indexes (AWS: the functions' user may not create them). */
  [ENV.auditStore.createIndexes]: bool.default(true),

  /** Where malformed event records go: a Postgres dead-letter table locally, an SQS queue in AWS. */
  [ENV.failureQueue.destination]: z.enum(['postgres', 'sqs']).optional(),
  [ENV.failureQueue.queueUrl]: z.string().optional(),

  /** DynamoDB table for idempotency records (Idempotency-Key); DYNAMODB_ENDPOINT for the local dynalite (npm run dev, tests). */
  [ENV.idempotencyTable.table]: z.string().min(1).optional(),
  DYNAMODB_ENDPOINT: z.string().optional(),
  AWS_REGION: z.string().default('us-east-1'),

  METRICS_BACKEND: z.enum(['emf', 'prometheus', 'none']).default('emf'),
  METRICS_NAMESPACE: z.string().default('TrafficManager'),
  /** xray: Powertools Tracer on every HTTP function (the stacks with -c tracingSdk=true); off loads none of it. */
  TRACING: z.enum(['xray', 'off']).default('off'),

  /** Circuit breakers (one per dependency) and the retry budget shared by safe retries. */
  BREAKER_FAILURE_THRESHOLD: int(1, 1000).default(5),
  BREAKER_HALF_OPEN_AFTER_MS: int(100, 600_000).default(2000),
  RETRY_BUDGET_RATIO: z.coerce.number().min(0).max(1).default(0.1),
  RETRY_BUDGET_MIN_PER_SECOND: z.coerce.number().min(0).max(1000).default(5),

  /** Largest accepted request body, bytes. */
  MAX_BODY_BYTES: int(256, 1_048_576).default(16_384),
  /** Largest accepted bulk change (POST /api/v1/routes/batch: up to 500 operations), bytes. */
  MAX_BATCH_BODY_BYTES: int(256, 1_048_576).default(1_048_576),

  /** Where the migrate custom resource finds migrations/ (copied next to the Lambda bundle). */
  MIGRATIONS_DIR: z.string().optional(),
  /** The function package's folder (/var/task), set by the Lambda runtime and by the local cloud. */
  LAMBDA_TASK_ROOT: z.string().min(1).optional(),

  /**
   * The HMAC-SHA256 key(s) API token hashes are made with: one or more keys of at least 32 characters,
   * comma-separated, the first for new tokens (the others keep older tokens valid during a rotation).
   * Locally and in tests; in AWS the same value is the secret TOKEN_HASH_KEY_SECRET_ARN names.
   */
  [ENV.tokenHashKey.key]: z
    .string()
    .refine((v) => v.split(',').every((k) => k.trim().length >= 32), {
      error: 'each comma-separated key must be at least 32 characters',
    })
    .optional(),
  [ENV.tokenHashKey.secretArn]: z.string().optional(),

  /** Token buckets in Redis: per tenant and operation (read/write/audit) and per token by its role. */
  RATE_LIMITS_ENABLED: bool.default(true),
  RATE_LIMIT_TENANT_READ: rate('2000/4000'),
  RATE_LIMIT_TENANT_WRITE: rate('50/100'),
  RATE_LIMIT_TENANT_AUDIT: rate('20/40'),
  RATE_LIMIT_RESOLVER: rate('1000/2000'),
  RATE_LIMIT_WRITER: rate('200/400'),
  RATE_LIMIT_ADMIN: rate('200/400'),
});

export type Config = Readonly<ReturnType<typeof toConfig>>;

/**
 * Where the local runner and the tests find their services. Applied only outside Lambda: in a Lambda
 * (AWS_LAMBDA_FUNCTION_NAME is set) an endpoint comes from the function's bindings or not at all, so a
 * missing binding fails the cold start (requireBindings) instead of dialling 127.0.0.1.
 */
export const LOCAL_DEFAULTS = {
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/traffic_manager',
  redisUrl: 'redis://127.0.0.1:6379',
  kafkaBrokers: ['127.0.0.1:19092'],
  mongoUrl: 'mongodb://127.0.0.1:27027',
  idempotencyTable: 'traffic-manager-idempotency',
  failureDestination: 'postgres',
} as const;

/** Lambda sets this in every function's environment; nothing else does. */
export const isLambdaEnv = (env: Readonly<Record<string, string | undefined>>): boolean =>
  Boolean(env.AWS_LAMBDA_FUNCTION_NAME);

/** In Lambda the outbox relay alone publishes: the write functions have no Kafka producer binding. */
export const LAMBDA_EVENT_PUBLISHER = 'relay';

const toConfig = (e: z.output<typeof envSchema>, lambda: boolean) => {
  const local = lambda ? undefined : LOCAL_DEFAULTS;
  const redisUrl = e.REDIS_URL ?? local?.redisUrl;
  const brokers = e.KAFKA_BROKERS?.split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  return {
    stage: e.STAGE,
    serviceName: e.SERVICE_NAME,
    logLevel: e.LOG_LEVEL,
    exposeErrorDetails: e.EXPOSE_ERROR_DETAILS,
    database: {
      url: e.DATABASE_URL ?? local?.databaseUrl,
      host: e.DATABASE_HOST,
      port: e.DATABASE_PORT,
      name: e.DATABASE_NAME,
      secretArn: e.DATABASE_SECRET_ARN,
      ssl: e.DATABASE_SSL,
      sslCaFile: e.DATABASE_SSL_CA_FILE,
      poolMax: e[ENV.database.poolMax],
      connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
      queryTimeoutMs: e.DATABASE_QUERY_TIMEOUT_MS,
    },
    cache: {
      backend: e.CACHE_BACKEND,
      redisUrl,
      redisTls: e.REDIS_TLS ?? redisUrl?.startsWith('rediss://') ?? false,
      redisPassword: e.REDIS_PASSWORD,
      redisAuthSecretArn: e.REDIS_AUTH_SECRET_ARN,
      commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
      autoPipelining: e.REDIS_AUTO_PIPELINING,
      upstashUrl: e.UPSTASH_REDIS_REST_URL,
      upstashToken: e.UPSTASH_REDIS_REST_TOKEN,
      upstashTimeoutMs: e.UPSTASH_TIMEOUT_MS,
      positiveTtlMs: e.CACHE_POSITIVE_TTL_SECONDS * 1000,
      negativeTtlMs: e.CACHE_NEGATIVE_TTL_SECONDS * 1000,
      jitterRatio: e.CACHE_TTL_JITTER_RATIO,
      memoryTtlMs: e.MEMORY_CACHE_TTL_MS,
      memoryMaxEntries: e.MEMORY_CACHE_MAX_ENTRIES,
    },
    kafka: {
      brokers: brokers ?? (e.MSK_CLUSTER_ARN ? undefined : local?.kafkaBrokers.slice()),
      mskClusterArn: e.MSK_CLUSTER_ARN,
      auth: e.KAFKA_AUTH,
      tls: e.KAFKA_TLS || e.KAFKA_AUTH === 'iam',
      clientId: e.KAFKA_CLIENT_ID,
      topic: e.ROUTE_EVENTS_TOPIC,
      publishTimeoutMs: e.PUBLISH_TIMEOUT_MS,
      publishBeforeAnswer: e.PUBLISH_BEFORE_ANSWER,
      eventPublisher: e.EVENT_PUBLISHER ?? (lambda ? LAMBDA_EVENT_PUBLISHER : 'writer'),
      topicPartitions: e.KAFKA_TOPIC_PARTITIONS,
      topicReplicationFactor: e.KAFKA_TOPIC_REPLICATION_FACTOR,
      region: e.AWS_REGION,
    },
    relay: {
      pollIntervalMs: e.RELAY_POLL_INTERVAL_MS,
      batchSize: e.RELAY_BATCH_SIZE,
      maxRunMs: e.RELAY_MAX_RUN_MS,
      backlogEveryMs: e.RELAY_BACKLOG_REPORT_MS,
    },
    mongo: {
      url: e.MONGO_URL ?? local?.mongoUrl,
      secretArn: e.MONGO_SECRET_ARN,
      database: e.MONGO_DATABASE,
      tlsCaFile: e.MONGO_TLS_CA_FILE,
      createIndexes: e.MONGO_CREATE_INDEXES,
    },
    failure: {
      destination: e.FAILURE_DESTINATION ?? local?.failureDestination,
      queueUrl: e.FAILURE_QUEUE_URL,
    },
    migrationsDir: e.MIGRATIONS_DIR,
    taskRoot: e.LAMBDA_TASK_ROOT,
    metrics: { backend: e.METRICS_BACKEND, namespace: e.METRICS_NAMESPACE },
    tracing: e.TRACING,
    http: { maxBodyBytes: e.MAX_BODY_BYTES, maxBatchBodyBytes: e.MAX_BATCH_BODY_BYTES },
    awsRegion: e.AWS_REGION,
    idempotency: {
      table: e.IDEMPOTENCY_TABLE ?? local?.idempotencyTable,
      dynamoEndpoint: e.DYNAMODB_ENDPOINT,
    },
    auth: {
      tokenHashKey: e.TOKEN_HASH_KEY,
      tokenHashKeySecretArn: e.TOKEN_HASH_KEY_SECRET_ARN,
    },
    rateLimits: {
      enabled: e.RATE_LIMITS_ENABLED,
      tenant: {
        read: e.RATE_LIMIT_TENANT_READ,
        write: e.RATE_LIMIT_TENANT_WRITE,
        audit: e.RATE_LIMIT_TENANT_AUDIT,
      },
      role: { resolver: e.RATE_LIMIT_RESOLVER, writer: e.RATE_LIMIT_WRITER, admin: e.RATE_LIMIT_ADMIN },
    },
    resilience: {
      failureThreshold: e.BREAKER_FAILURE_THRESHOLD,
      halfOpenAfterMs: e.BREAKER_HALF_OPEN_AFTER_MS,
      retryBudgetRatio: e.RETRY_BUDGET_RATIO,
      retryBudgetMinPerSecond: e.RETRY_BUDGET_MIN_PER_SECOND,
    },
  };
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Pure: parse an environment map. A bad setting fails the cold start with every problem named. */
export const parseConfig = (env: Record<string, string | undefined>): Config => {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  const config = toConfig(result.data, isLambdaEnv(env));
  if (config.cache.backend === 'upstash' && (!config.cache.upstashUrl || !config.cache.upstashToken)) {
    throw new ConfigError(
      'invalid configuration: CACHE_BACKEND=upstash needs UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN',
    );
  }
  // Lambda functions report through EMF; their bundles carry no Prometheus client (infra/bundling.ts).
  if (isLambdaEnv(env) && config.metrics.backend === 'prometheus') {
    throw new ConfigError(
      'invalid configuration: METRICS_BACKEND=prometheus is for the local runner; in Lambda use emf or none',
    );
  }
  // The write functions' manifest has no Kafka producer: in Lambda the relay alone publishes (issue 15).
  if (isLambdaEnv(env) && config.kafka.eventPublisher === 'writer') {
    throw new ConfigError(
      'invalid configuration: EVENT_PUBLISHER=writer is for the local runner; in Lambda the outbox relay publishes',
    );
  }
  // A writer-mode setting, refused in Lambda as well: a frozen container cannot finish a publish behind
  // its answer (the event would wait for the lease to run out and the relay).
  if (isLambdaEnv(env) && !config.kafka.publishBeforeAnswer) {
    throw new ConfigError(
      'invalid configuration: PUBLISH_BEFORE_ANSWER=false is for the local runner; a Lambda container is frozen after its answer',
    );
  }
  if (config.failure.destination === 'sqs' && !config.failure.queueUrl) {
    throw new ConfigError('invalid configuration: FAILURE_DESTINATION=sqs needs FAILURE_QUEUE_URL');
  }
  return config;
};

let cached: Config | undefined;

/** The process configuration, parsed from process.env on first use. */
export const getConfig = (): Config => {
  cached ??= parseConfig(process.env);
  return cached;
};

/** An endpoint a binding should have provided; a ConfigError (never a default) when it is absent. */
export const requireSetting = <T>(value: T | undefined, name: string): T => {
  if (value === undefined) throw new ConfigError(`invalid configuration: ${name} is not set`);
  return value;
};

/**
 * Pure: throws one ConfigError naming every setting the environment lacks for these bindings, when it is a
 * Lambda's (outside Lambda the local defaults stand in). See bindings.ts for what each binding needs.
 */
export const checkBindings = (
  bindings: Bindings,
  env: Readonly<Record<string, string | undefined>>,
): void => {
  if (!isLambdaEnv(env)) return;
  const problems = missingSettings(bindings, env);
  if (problems.length === 0) return;
  const named = problems.map(({ binding, missing, orElse }) => {
    const others = orElse.filter((f) => f.length > 0).map((f) => f.join(', '));
    return `${binding} needs ${missing.join(', ')}${others.length ? ` (or ${others.join('; or ')})` : ''}`;
  });
  throw new ConfigError(
    `invalid configuration: missing settings for this function's bindings: ${named.join('; ')}`,
  );
};

/**
 * A composition root's first call, at module scope: the configuration parses and the environment holds
 * every binding the function declares (functions/function-manifest.ts), or the cold start fails.
 */
export const requireBindings = (bindings: Bindings): Config => {
  const config = getConfig();
  checkBindings(bindings, process.env);
  return config;
};
