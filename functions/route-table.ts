import type { Permission } from '#shared/domain/auth';
import type { LimitedOperation } from '#shared/domain/rate-limit';

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
  routeQuery: {
    entry: 'functions/routes/route-query.handler.ts',
    handler: 'handler',
    description: "List a tenant's routes and read one route in full (Postgres)",
  },
  upsertRoute: {
    entry: 'functions/routes/upsert-route.handler.ts',
    handler: 'handler',
    description: 'Create or update a route',
  },
  setRouteState: {
    entry: 'functions/routes/set-route-state.handler.ts',
    handler: 'handler',
    description: 'Activate, deactivate or roll back a route',
  },
  batchRoutes: {
    entry: 'functions/routes/batch-routes.handler.ts',
    handler: 'handler',
    description: 'Bulk changes: up to 500 creates, activations and deactivations in one transaction',
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
  splitQuery: {
    entry: 'functions/splits/split-query.handler.ts',
    handler: 'handler',
    description: 'Read the weighted traffic split of a tenant/service/env (Postgres)',
  },
  changeSplit: {
    entry: 'functions/splits/change-split.handler.ts',
    handler: 'handler',
    description: 'Set or delete the weighted traffic split of a tenant/service/env',
  },
  tokens: {
    entry: 'functions/admin/tokens.handler.ts',
    handler: 'handler',
    description: 'API token administration: create, list, revoke, audit trail',
  },
} as const satisfies Record<string, LambdaFunctionSpec>;

/**
 * The API Gateway Lambda authorizer (REQUEST type) in front of every non-public route; the local
 * runner calls the same function for each such request.
 */
export const authorizerFunctions = {
  authorizer: {
    entry: 'functions/auth/authorizer.handler.ts',
    handler: 'handler',
    description: 'Authenticate API tokens and allow the routes their role may call',
  },
} as const satisfies Record<string, LambdaFunctionSpec>;

/** Invoked by an operator (`aws lambda invoke`), never by the API or a schedule. */
export const operatorFunctions = {
  bootstrapAdminToken: {
    entry: 'functions/admin/bootstrap-admin-token.handler.ts',
    handler: 'handler',
    description: 'Create the first admin API token when none is active (returns its secret once)',
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
    description: 'Cache changed routes at their revision from the events (rollbacks re-read)',
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
  auditStoreSetup: {
    entry: 'functions/deploy/audit-store-setup.handler.ts',
    handler: 'handler',
    description: "Create the audit store's indexes and its least-privilege user on deploy",
  },
} as const satisfies Record<string, LambdaFunctionSpec>;

export type FunctionId = keyof typeof lambdaFunctions;

/** What a route requires: a permission a token's role must grant, or nothing (health probes). */
export type Access = Permission | 'public';

/** The methods the API uses; API Gateway, the local runners and the authorizer policy take them from here. */
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface HttpRoute {
  readonly method: HttpMethod;
  readonly path: string;
  readonly fn: FunctionId;
  /**
   * Every route but the health ones sits behind the authorizer, which allows it to tokens whose role
   * grants this permission; the handler then checks the tenant against the token's tenants.
   */
  readonly permission: Access;
  /** The bulkhead the route runs in (a flood of one kind cannot starve the others) and its rate limit. */
  readonly operation: Operation;
}

export type Operation = LimitedOperation | 'health';

export const httpRoutes: readonly HttpRoute[] = [
  {
    method: 'GET',
    path: '/api/v1/routes/resolve',
    fn: 'resolveRoute',
    permission: 'resolve',
    operation: 'read',
  },
  { method: 'GET', path: '/api/v1/routes', fn: 'routeQuery', permission: 'resolve', operation: 'read' },
  {
    method: 'GET',
    path: '/api/v1/routes/detail',
    fn: 'routeQuery',
    permission: 'resolve',
    operation: 'read',
  },
  { method: 'GET', path: '/api/v1/splits', fn: 'splitQuery', permission: 'resolve', operation: 'read' },
  { method: 'PUT', path: '/api/v1/splits', fn: 'changeSplit', permission: 'write', operation: 'write' },
  { method: 'DELETE', path: '/api/v1/splits', fn: 'changeSplit', permission: 'write', operation: 'write' },
  { method: 'POST', path: '/api/v1/routes', fn: 'upsertRoute', permission: 'write', operation: 'write' },
  {
    method: 'POST',
    path: '/api/v1/routes/activate',
    fn: 'setRouteState',
    permission: 'write',
    operation: 'write',
  },
  {
    method: 'POST',
    path: '/api/v1/routes/deactivate',
    fn: 'setRouteState',
    permission: 'write',
    operation: 'write',
  },
  {
    method: 'POST',
    path: '/api/v1/routes/rollback',
    fn: 'setRouteState',
    permission: 'write',
    operation: 'write',
  },
  {
    method: 'POST',
    path: '/api/v1/routes/batch',
    fn: 'batchRoutes',
    permission: 'write',
    operation: 'write',
  },
  { method: 'GET', path: '/api/v1/audit/route', fn: 'auditQuery', permission: 'audit', operation: 'audit' },
  { method: 'GET', path: '/api/v1/audit/recent', fn: 'auditQuery', permission: 'audit', operation: 'audit' },
  { method: 'GET', path: '/api/v1/audit/action', fn: 'auditQuery', permission: 'audit', operation: 'audit' },
  {
    method: 'GET',
    path: '/api/v1/audit/time-range',
    fn: 'auditQuery',
    permission: 'audit',
    operation: 'audit',
  },
  { method: 'POST', path: '/api/v1/admin/tokens', fn: 'tokens', permission: 'admin', operation: 'admin' },
  { method: 'GET', path: '/api/v1/admin/tokens', fn: 'tokens', permission: 'admin', operation: 'admin' },
  {
    method: 'POST',
    path: '/api/v1/admin/tokens/revoke',
    fn: 'tokens',
    permission: 'admin',
    operation: 'admin',
  },
  {
    method: 'GET',
    path: '/api/v1/admin/tokens/audit',
    fn: 'tokens',
    permission: 'admin',
    operation: 'admin',
  },
  { method: 'GET', path: '/health', fn: 'health', permission: 'public', operation: 'health' },
  { method: 'GET', path: '/health/live', fn: 'health', permission: 'public', operation: 'health' },
  { method: 'GET', path: '/health/ready', fn: 'health', permission: 'public', operation: 'health' },
  { method: 'GET', path: '/health/resilience', fn: 'health', permission: 'public', operation: 'health' },
  // The committed docs/openapi.json; each route above has its entry in functions/openapi/operations.ts.
  { method: 'GET', path: '/openapi.json', fn: 'health', permission: 'public', operation: 'health' },
];

export const isPublic = (route: HttpRoute): boolean => route.permission === 'public';

/**
 * What a function's routes require, for its handler to check (every route of one function requires
 * the same). Throws at import when the table gives one function routes with different requirements.
 */
export const accessOf = (fn: FunctionId): Access => {
  const required = new Set(httpRoutes.filter((r) => r.fn === fn).map((r) => r.permission));
  const [only, ...others] = required;
  if (!only || others.length > 0) throw new Error(`${fn}: its routes must require one permission`);
  return only;
};
