/**
 * The HTTP API: one table read by the CDK API stack and by the local runner, so they cannot drift.
 * `fn` names a Lambda function (see `lambdaFunctions`); several routes may share one function.
 */
export interface LambdaFunctionSpec {
  /** Path of the entry file from the repository root. */
  readonly entry: string;
  readonly handler: string;
  readonly description: string;
}

export const lambdaFunctions = {
  resolveRoute: {
    entry: 'functions/routes/resolve-route.handler.ts',
    handler: 'handler',
    description: 'Resolve tenant/service/env/version to an endpoint URL (cache-aside)',
  },
  upsertRoute: {
    entry: 'functions/routes/upsert-route.handler.ts',
    handler: 'handler',
    description: 'Create or update a route',
  },
  setRouteState: {
    entry: 'functions/routes/set-route-state.handler.ts',
    handler: 'handler',
    description: 'Activate or deactivate a route',
  },
  health: {
    entry: 'functions/health/health.handler.ts',
    handler: 'handler',
    description: 'Health, liveness and readiness',
  },
  auditQuery: {
    entry: 'functions/audit/audit-query.handler.ts',
    handler: 'handler',
    description: 'Audit trail queries (DocumentDB)',
  },
} as const satisfies Record<string, LambdaFunctionSpec>;

export interface ConsumerFunctionSpec extends LambdaFunctionSpec {
  /** Each consumer reads `route-events` in its own consumer group. */
  readonly consumerGroup: string;
}

/** MSK-triggered consumers of the `route-events` topic (and, locally, of the event-source poller). */
export const consumerFunctions = {
  cacheInvalidation: {
    entry: 'functions/consumers/cache-invalidation.handler.ts',
    handler: 'handler',
    description: 'Invalidate cached routes on route_changed events',
    consumerGroup: 'traffic-manager-cache-invalidation',
  },
  cacheWarming: {
    entry: 'functions/consumers/cache-warming.handler.ts',
    handler: 'handler',
    description: 'Re-read changed routes from Postgres and cache them',
    consumerGroup: 'traffic-manager-cache-warming',
  },
  audit: {
    entry: 'functions/consumers/audit.handler.ts',
    handler: 'handler',
    description: 'Write one audit document per route_changed event',
    consumerGroup: 'traffic-manager-audit',
  },
} as const satisfies Record<string, ConsumerFunctionSpec>;

/** Runs on an EventBridge schedule in AWS; inside `npm start` locally. */
export const scheduledFunctions = {
  outboxRelay: {
    entry: 'functions/relay/outbox-relay.handler.ts',
    handler: 'handler',
    description: 'Publish outbox rows the write path could not publish, oldest first',
  },
} as const satisfies Record<string, LambdaFunctionSpec>;

/** CloudFormation custom resources run on deploy. */
export const deployFunctions = {
  migrate: {
    entry: 'functions/deploy/migrate.handler.ts',
    handler: 'handler',
    description: 'Apply migrations/ to the database on deploy',
  },
  createTopic: {
    entry: 'functions/deploy/create-topic.handler.ts',
    handler: 'handler',
    description: 'Create the route-events topic on deploy',
  },
} as const satisfies Record<string, LambdaFunctionSpec>;

export type FunctionId = keyof typeof lambdaFunctions;

export interface HttpRoute {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly fn: FunctionId;
  /** Health routes stay open; everything else will sit behind the authorizer. */
  readonly public: boolean;
  /** The bulkhead the route runs in: a flood of one kind cannot starve the others. */
  readonly operation: Operation;
}

export type Operation = 'read' | 'write' | 'audit' | 'health';

export const httpRoutes: readonly HttpRoute[] = [
  { method: 'GET', path: '/api/v1/routes/resolve', fn: 'resolveRoute', public: false, operation: 'read' },
  { method: 'POST', path: '/api/v1/routes', fn: 'upsertRoute', public: false, operation: 'write' },
  { method: 'POST', path: '/api/v1/routes/activate', fn: 'setRouteState', public: false, operation: 'write' },
  {
    method: 'POST',
    path: '/api/v1/routes/deactivate',
    fn: 'setRouteState',
    public: false,
    operation: 'write',
  },
  { method: 'GET', path: '/api/v1/audit/route', fn: 'auditQuery', public: false, operation: 'audit' },
  { method: 'GET', path: '/api/v1/audit/recent', fn: 'auditQuery', public: false, operation: 'audit' },
  { method: 'GET', path: '/api/v1/audit/action', fn: 'auditQuery', public: false, operation: 'audit' },
  { method: 'GET', path: '/api/v1/audit/time-range', fn: 'auditQuery', public: false, operation: 'audit' },
  { method: 'GET', path: '/health', fn: 'health', public: true, operation: 'health' },
  { method: 'GET', path: '/health/live', fn: 'health', public: true, operation: 'health' },
  { method: 'GET', path: '/health/ready', fn: 'health', public: true, operation: 'health' },
  { method: 'GET', path: '/health/resilience', fn: 'health', public: true, operation: 'health' },
];
