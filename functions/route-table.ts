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
} as const satisfies Record<string, LambdaFunctionSpec>;

export type FunctionId = keyof typeof lambdaFunctions;

export interface HttpRoute {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly fn: FunctionId;
  /** Health routes stay open; everything else will sit behind the authorizer. */
  readonly public: boolean;
}

export const httpRoutes: readonly HttpRoute[] = [
  { method: 'GET', path: '/api/v1/routes/resolve', fn: 'resolveRoute', public: false },
  { method: 'POST', path: '/api/v1/routes', fn: 'upsertRoute', public: false },
  { method: 'POST', path: '/api/v1/routes/activate', fn: 'setRouteState', public: false },
  { method: 'POST', path: '/api/v1/routes/deactivate', fn: 'setRouteState', public: false },
  { method: 'GET', path: '/health', fn: 'health', public: true },
  { method: 'GET', path: '/health/live', fn: 'health', public: true },
  { method: 'GET', path: '/health/ready', fn: 'health', public: true },
];
