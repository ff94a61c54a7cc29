import type {
  authorizerFunctions,
  consumerFunctions,
  deployFunctions,
  lambdaFunctions,
  operatorFunctions,
  scheduledFunctions,
} from '#functions/route-table';
import { RELAY_RUNS_AT_ONCE } from '#shared/config/relay-run';

/** Every Lambda the route table declares, across its tables. */
export type AppFunctionId =
  | keyof typeof lambdaFunctions
  | keyof typeof authorizerFunctions
  | keyof typeof consumerFunctions
  | keyof typeof scheduledFunctions
  | keyof typeof deployFunctions
  | keyof typeof operatorFunctions;

export const STAGE_NAMES = ['dev', 'prod', 'local', 'localstack'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** Log retention values CloudWatch accepts (a subset: the ones a stage may pick). */
export type LogRetentionDays = 7 | 14 | 30 | 90 | 180 | 365;

export interface StageConfig {
  readonly name: StageName;
  /** `aws`: the full managed stack. `localstack`: community LocalStack + the compose containers. */
  readonly target: 'aws' | 'localstack';
  /** Keep data when a stack is deleted or a resource replaced; deletion protection on databases. */
  readonly protectData: boolean;
  readonly logRetentionDays: LogRetentionDays;
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /**
   * Active tracing is always on: Lambda records each invocation's segments itself. `true` also loads the
   * X-Ray SDK (Powertools Tracer) in the API's functions for the handler subsegment and annotations; its
   * cls-hooked async hook tracks every promise, about 1 ms of CPU per write invoke (issue 15), so it is
   * off unless `-c tracingSdk=true` asks for it while investigating.
   */
  readonly tracingSdk: boolean;
  readonly events: {
    /**
     * How often the outbox relay polls. In Lambda it alone publishes a write's event (EVENT_PUBLISHER=relay):
     * the write answers after commit and its tombstone, so this is what a change waits before Kafka.
     */
    readonly relayPollIntervalMs: number;
  };
  readonly network: {
    readonly cidr: string;
    /**
     * Absent: env-agnostic stacks (any account and region, the region's first two AZs; synth needs no
     * lookups). Present: the stacks are pinned to this region and run in these AZs — three in prod, so a
     * quorum (Kafka min.insync.replicas 2 of 3) survives the loss of one. Naming the AZs keeps synth offline
     * (the account stays unpinned); `-c region=…` moves them to another region's a, b and c.
     */
    readonly placement?: { readonly region: string; readonly availabilityZones: readonly string[] };
    /** Interface endpoints in every AZ (prod) or only the first (dev: half the hourly endpoint cost). */
    readonly endpointsInEveryAz: boolean;
    readonly flowLogTraffic: 'ALL' | 'REJECT';
  };
  readonly database: {
    readonly instanceClass: string;
    readonly multiAz: boolean;
    readonly allocatedStorageGiB: number;
    readonly maxAllocatedStorageGiB: number;
    readonly backupRetentionDays: number;
    readonly performanceInsights: boolean;
  };
  readonly cache: {
    readonly nodeType: string;
    /** 0 = a single primary (dev); ≥1 = Multi-AZ with automatic failover. */
    readonly replicas: number;
    readonly snapshotRetentionDays: number;
  };
  readonly kafka: {
    readonly instanceType: string;
    /** A multiple of the AZ count (MSK requirement). */
    readonly brokers: number;
    readonly volumeSizeGiB: number;
    /** Of the created topic, and the broker defaults (num.partitions, default.replication.factor). */
    readonly partitions: number;
    readonly replicationFactor: number;
    /** Replicas that must have a write before `acks=all` succeeds: replicationFactor − 1 tolerates one loss. */
    readonly minInsyncReplicas: number;
    /** Broker default (log.retention.hours); the consumers' maxRecordAge is far below it. */
    readonly retentionHours: number;
  };
  readonly auditStore: {
    readonly instanceClass: string;
    readonly instances: number;
    /**
     * `managed`: the deploy step creates the audit functions' least-privilege user (DocumentDB). `none`:
     * only where no store checks users — the local cloud's Mongo-wire server has no user commands at all,
     * and the LocalStack stage's compose MongoDB runs without authentication.
     */
    readonly users: 'managed' | 'none';
  };
  readonly api: {
    readonly throttleRatePerSecond: number;
    readonly throttleBurst: number;
    /**
     * How long API Gateway caches the authorizer's answer per token. It is also how long a revoked token
     * keeps working (and the authorizer's database load falls with it): docs/security.md.
     */
    readonly authorizerCacheTtlSeconds: number;
    /** WAFv2 web ACL on the API stage (not available in community LocalStack). */
    readonly waf: boolean;
    /**
     * The WAF rate limits, per 5 minutes (WAF's evaluation window). `perToken` counts requests per
     * Authorization header value, so services behind one NAT address are not limited together;
     * `perIpUnauthenticated` counts requests without the header per source IP (probes, floods).
     */
    readonly wafRateLimits: { readonly perToken: number; readonly perIpUnauthenticated: number };
    /**
     * Manage the region-wide API Gateway CloudWatch role. Set false when another stack in the same
     * account and region already owns it (only one `AWS::ApiGateway::Account` per region).
     */
    readonly manageAccountLoggingRole: boolean;
  };
  readonly consumers: {
    readonly batchSize: number;
    /**
     * How long the event source gathers records before invoking: at low traffic every change waits this
     * long before its cache invalidation, so 0 (invoke with what each poll returns; under load batches
     * fill anyway). MSK's own default is 0.5 s, and once set only whole seconds are possible.
     */
    readonly maxBatchingWindowSeconds: number;
    readonly retryAttempts: number;
    readonly maxRecordAgeSeconds: number;
    /** Kafka ESM retry/on-failure controls need provisioned pollers. */
    readonly minPollers: number;
    readonly maxPollers: number;
  };
  /**
   * Safe deploys. The API functions, the authorizer, the consumers and the relay are published as a version
   * behind a `live` alias, which the API, the authorizer, the event source mappings and the schedule invoke;
   * CodeDeploy moves the alias to a new version with `strategy` and rolls it back when one of the function's
   * rollback alarms (error rate, p99 duration; API 5xx for the API's functions) fires during the shift.
   */
  readonly deploys: {
    /**
     * `canary10Percent5Minutes`: 10 % of calls for 5 minutes, then all. `allAtOnce`: CodeDeploy shifts at
     * once (alarms already firing still stop it). `none`: no CodeDeploy, CloudFormation moves the alias
     * (LocalStack's community edition has no CodeDeploy).
     */
    readonly strategy: 'canary10Percent5Minutes' | 'linear10PercentEvery1Minute' | 'allAtOnce' | 'none';
    /** Roll back when more than this share of the alias's invocations fail in a minute. */
    readonly rollbackErrorPercent: number;
    /**
     * Provisioned concurrency on the live alias (no cold starts up to `min`), target-tracked by Application
     * Auto Scaling between `min` and `max` at `utilization` (0–1). `max` stays within the reserved concurrency.
     */
    readonly provisionedConcurrency: Partial<
      Record<AppFunctionId, { readonly min: number; readonly max: number; readonly utilization: number }>
    >;
  };
  /** The serverless bulkhead: concurrency reserved per function; `default` for any not listed. */
  readonly reservedConcurrency: {
    readonly default: number;
    readonly overrides: Partial<Record<AppFunctionId, number>>;
  };
  readonly alarms: {
    /** Subscribed to the alarm topic; `-c alarmEmail=…` sets it at deploy time (withDeployContext). */
    readonly email?: string;
    readonly resolveP99Ms: number;
    /** API Gateway's Latency p99 over every route (authorizer included), ms. */
    readonly apiP99Ms: number;
    readonly cacheHitRatioMinPercent: number;
    readonly api5xxPerMinute: number;
    readonly api4xxPercent: number;
    readonly writeFailuresPer5Min: number;
    readonly outboxOldestAgeSeconds: number;
    readonly consumerMaxOffsetLag: number;
    /** Per function: failed invocations (AWS/Lambda Errors) in 5 minutes. */
    readonly functionErrorsPer5Min: number;
    /** Per function: throttled invocations in 5 minutes (its reserved concurrency was exhausted). */
    readonly functionThrottlesPer5Min: number;
    readonly databaseCpuPercent: number;
    readonly databaseFreeStorageMinGiB: number;
    /** Instance connections; RDS Proxy may open up to 90 % of max_connections (about 190 on t4g.small, 840 on m7g.large). */
    readonly databaseConnections: number;
    readonly cacheMemoryPercent: number;
    readonly cacheEvictionsPer5Min: number;
    /** Per broker, KafkaDataLogsDiskUsed (%). */
    readonly kafkaDiskUsedPercent: number;
    readonly auditStoreCpuPercent: number;
    readonly auditStoreFreeMemoryMinMiB: number;
    /** Requests the web ACL blocked in 5 minutes: a flood, or a rule blocking legitimate callers. */
    readonly wafBlockedPer5Min: number;
  };
  /** `localstack` target only: where the functions find the compose containers. */
  readonly localServices?: {
    readonly databaseUrl: string;
    readonly redisUrl: string;
    readonly kafkaBrokers: string;
    readonly mongoUrl: string;
  };
}

const dev: StageConfig = {
  name: 'dev',
  target: 'aws',
  protectData: false,
  logRetentionDays: 14,
  logLevel: 'DEBUG',
  tracingSdk: false,
  events: { relayPollIntervalMs: 100 },
  network: { cidr: '10.40.0.0/16', endpointsInEveryAz: false, flowLogTraffic: 'REJECT' },
  database: {
    instanceClass: 't4g.small',
    multiAz: false,
    allocatedStorageGiB: 20,
    maxAllocatedStorageGiB: 50,
    backupRetentionDays: 1,
    performanceInsights: false,
  },
  cache: { nodeType: 'cache.t4g.micro', replicas: 0, snapshotRetentionDays: 0 },
  kafka: {
    instanceType: 'kafka.t3.small',
    brokers: 2,
    volumeSizeGiB: 20,
    partitions: 6,
    replicationFactor: 2,
    minInsyncReplicas: 1,
    retentionHours: 72,
  },
  auditStore: { instanceClass: 't4g.medium', instances: 1, users: 'managed' },
  api: {
    throttleRatePerSecond: 50,
    throttleBurst: 100,
    authorizerCacheTtlSeconds: 60,
    waf: true,
    // One token at up to ~33/s (10,000 per 5 min) of the stage's 50/s before WAF blocks it for a while.
    wafRateLimits: { perToken: 10_000, perIpUnauthenticated: 1_000 },
    manageAccountLoggingRole: true,
  },
  consumers: {
    batchSize: 100,
    maxBatchingWindowSeconds: 0,
    retryAttempts: 3,
    maxRecordAgeSeconds: 3600,
    minPollers: 1,
    maxPollers: 2,
  },
  // Dev is deployed many times a day and a bad push there is fixed by the next one: CodeDeploy still does
  // the shift (the mechanism prod uses, exercised on every deploy), without a canary's 5 minutes.
  deploys: { strategy: 'allAtOnce', rollbackErrorPercent: 5, provisionedConcurrency: {} },
  reservedConcurrency: {
    default: 2,
    overrides: {
      resolveRoute: 10,
      upsertRoute: 3,
      setRouteState: 3,
      // Called once per token per authorizer-cache TTL, not per request.
      authorizer: 5,
      // Its runs overlap by design (shared/config/relay-run.ts).
      outboxRelay: RELAY_RUNS_AT_ONCE,
      migrate: 1,
      createTopic: 1,
      auditStoreSetup: 1,
      bootstrapAdminToken: 1,
    },
  },
  alarms: {
    resolveP99Ms: 250,
    cacheHitRatioMinPercent: 50,
    api5xxPerMinute: 5,
    api4xxPercent: 25,
    writeFailuresPer5Min: 5,
    outboxOldestAgeSeconds: 300,
    consumerMaxOffsetLag: 1000,
    apiP99Ms: 1000,
    functionErrorsPer5Min: 5,
    functionThrottlesPer5Min: 10,
    databaseCpuPercent: 90,
    databaseFreeStorageMinGiB: 5,
    databaseConnections: 150,
    cacheMemoryPercent: 85,
    cacheEvictionsPer5Min: 100,
    kafkaDiskUsedPercent: 80,
    auditStoreCpuPercent: 90,
    auditStoreFreeMemoryMinMiB: 256,
    wafBlockedPer5Min: 500,
  },
};

const prod: StageConfig = {
  name: 'prod',
  target: 'aws',
  protectData: true,
  logRetentionDays: 90,
  logLevel: 'INFO',
  tracingSdk: false,
  events: { relayPollIntervalMs: 100 },
  network: {
    cidr: '10.41.0.0/16',
    placement: { region: 'us-east-1', availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'] },
    endpointsInEveryAz: true,
    flowLogTraffic: 'ALL',
  },
  database: {
    instanceClass: 'm7g.large',
    multiAz: true,
    allocatedStorageGiB: 50,
    maxAllocatedStorageGiB: 500,
    backupRetentionDays: 14,
    performanceInsights: true,
  },
  cache: { nodeType: 'cache.m7g.large', replicas: 1, snapshotRetentionDays: 7 },
  kafka: {
    instanceType: 'kafka.m7g.large',
    // One per AZ: RF 3 puts a replica in each, min.insync 2 keeps acks=all writable with one AZ down.
    brokers: 3,
    volumeSizeGiB: 200,
    partitions: 12,
    replicationFactor: 3,
    minInsyncReplicas: 2,
    retentionHours: 168,
  },
  auditStore: { instanceClass: 'r6g.large', instances: 2, users: 'managed' },
  api: {
    throttleRatePerSecond: 2000,
    throttleBurst: 4000,
    authorizerCacheTtlSeconds: 60,
    waf: true,
    // One caller's token at 200/s (60,000 per 5 min) before WAF blocks it; the stage throttle is 2,000/s.
    wafRateLimits: { perToken: 60_000, perIpUnauthenticated: 3_000 },
    manageAccountLoggingRole: true,
  },
  consumers: {
    batchSize: 500,
    maxBatchingWindowSeconds: 0,
    retryAttempts: 5,
    maxRecordAgeSeconds: 6 * 3600,
    minPollers: 1,
    maxPollers: 6,
  },
  deploys: {
    strategy: 'canary10Percent5Minutes',
    rollbackErrorPercent: 1,
    // The hot read path and the authorizer in front of it: cold starts there are the API's p99.
    provisionedConcurrency: {
      resolveRoute: { min: 10, max: 100, utilization: 0.7 },
      authorizer: { min: 2, max: 20, utilization: 0.7 },
    },
  },
  reservedConcurrency: {
    default: 5,
    overrides: {
      resolveRoute: 400,
      upsertRoute: 25,
      setRouteState: 25,
      auditQuery: 10,
      authorizer: 50,
      // Its runs overlap by design (shared/config/relay-run.ts).
      outboxRelay: RELAY_RUNS_AT_ONCE,
      migrate: 1,
      createTopic: 1,
      bootstrapAdminToken: 1,
    },
  },
  alarms: {
    resolveP99Ms: 100,
    cacheHitRatioMinPercent: 80,
    api5xxPerMinute: 10,
    api4xxPercent: 10,
    writeFailuresPer5Min: 5,
    outboxOldestAgeSeconds: 120,
    consumerMaxOffsetLag: 5000,
    apiP99Ms: 500,
    functionErrorsPer5Min: 10,
    functionThrottlesPer5Min: 10,
    databaseCpuPercent: 80,
    databaseFreeStorageMinGiB: 20,
    databaseConnections: 700,
    cacheMemoryPercent: 80,
    cacheEvictionsPer5Min: 1000,
    kafkaDiskUsedPercent: 75,
    auditStoreCpuPercent: 80,
    auditStoreFreeMemoryMinMiB: 1024,
    wafBlockedPer5Min: 1000,
  },
};

/**
 * The local cloud (`npm start`, scripts/cloud/start.ts): the AWS-shaped app, synthesized and run function by
 * function on this machine, its managed stores mapped to local stand-ins. Dev's resources, sized for two
 * cores: a stage throttle that does not stand in the way of local load, and concurrency a laptop can hold.
 */
const local: StageConfig = {
  ...dev,
  name: 'local',
  logLevel: 'INFO',
  auditStore: { ...dev.auditStore, users: 'none' },
  api: { ...dev.api, throttleRatePerSecond: 5000, throttleBurst: 10_000 },
  // The local services run one broker (scripts/services/kafka): a topic with more replicas cannot be created.
  kafka: { ...dev.kafka, replicationFactor: 1, minInsyncReplicas: 1 },
  reservedConcurrency: {
    default: 2,
    overrides: {
      resolveRoute: 8,
      // Listings and details are operator reads, not the hot path; one container keeps the local stage's
      // database pools within LOCAL_DB_CONNECTION_BUDGET (60) so nothing else is scaled down.
      routeQuery: 1,
      upsertRoute: 4,
      setRouteState: 4,
      authorizer: 4,
      // Its runs overlap by design (shared/config/relay-run.ts).
      outboxRelay: RELAY_RUNS_AT_ONCE,
      migrate: 1,
      createTopic: 1,
      bootstrapAdminToken: 1,
    },
  },
};

/**
 * Community LocalStack runs the API, the Lambdas, DynamoDB, SQS, Secrets Manager and EventBridge; the
 * data stores AWS manages (RDS + Proxy, ElastiCache, MSK, DocumentDB) are the localstack-compose.yml
 * containers, reached by service name on the shared `traffic-manager` Docker network.
 */
const localstack: StageConfig = {
  ...dev,
  name: 'localstack',
  target: 'localstack',
  auditStore: { ...dev.auditStore, users: 'none' },
  logRetentionDays: 7,
  api: { ...dev.api, waf: false, manageAccountLoggingRole: false },
  deploys: { ...dev.deploys, strategy: 'none' },
  // One broker in localstack-compose.yml: a replica per partition, nothing more to wait for.
  kafka: { ...dev.kafka, brokers: 1, replicationFactor: 1, minInsyncReplicas: 1 },
  reservedConcurrency: { default: 0, overrides: {} },
  localServices: {
    databaseUrl: 'postgres://postgres@postgres:5432/traffic_manager',
    redisUrl: 'redis://redis:6379',
    kafkaBrokers: 'kafka:29092',
    mongoUrl: 'mongodb://mongo:27017',
  },
};

export const stages: Readonly<Record<StageName, StageConfig>> = { dev, prod, local, localstack };

export const isStageName = (value: unknown): value is StageName =>
  typeof value === 'string' && (STAGE_NAMES as readonly string[]).includes(value);

/** The stage named by `-c stage=…` (default dev); an unknown name fails synth with the valid ones. */
export const stageFromContext = (value: unknown): StageConfig => {
  const name = value ?? 'dev';
  if (!isStageName(name)) {
    throw new Error(`unknown stage ${JSON.stringify(name)}: use -c stage=${STAGE_NAMES.join('|')}`);
  }
  return stages[name];
};

/** How many AZs the stage's VPC spans: its pinned AZs, else the two an env-agnostic stack resolves. */
export const availabilityZoneCount = (stage: StageConfig): number =>
  stage.network.placement?.availabilityZones.length ?? 2;

/**
 * The settings a deploy may give without a code edit: `-c alarmEmail=…` (the alarm topic's e-mail
 * subscription), `-c region=…` (a pinned stage moves to that region's a, b and c AZs) and
 * `-c tracingSdk=true|false` (StageConfig.tracingSdk).
 */
export const withDeployContext = (stage: StageConfig, context: (key: string) => unknown): StageConfig => {
  const email = context('alarmEmail');
  const region = context('region');
  const tracingSdk = context('tracingSdk');
  // `-c tracingSdk=true` arrives as a string; cdk.json context may hold a boolean.
  if (tracingSdk !== undefined && !['true', 'false'].includes(String(tracingSdk))) {
    throw new Error(`-c tracingSdk=${String(tracingSdk)} is neither true nor false`);
  }
  if (email !== undefined && (typeof email !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))) {
    throw new Error(`-c alarmEmail=${String(email)} is not an e-mail address`);
  }
  if (region !== undefined && (typeof region !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region))) {
    throw new Error(`-c region=${String(region)} is not a region name`);
  }
  const placement = stage.network.placement;
  return {
    ...stage,
    ...(email ? { alarms: { ...stage.alarms, email } } : {}),
    ...(tracingSdk !== undefined ? { tracingSdk: String(tracingSdk) === 'true' } : {}),
    ...(region && placement
      ? {
          network: {
            ...stage.network,
            placement: {
              region,
              availabilityZones: placement.availabilityZones.map((_, i) => `${region}${'abcdef'[i]}`),
            },
          },
        }
      : {}),
  };
};

/** Reserved concurrency for one function; 0 (local) means "do not reserve". */
export const reservedConcurrencyOf = (stage: StageConfig, id: AppFunctionId): number | undefined => {
  const value = stage.reservedConcurrency.overrides[id] ?? stage.reservedConcurrency.default;
  return value > 0 ? value : undefined;
};
