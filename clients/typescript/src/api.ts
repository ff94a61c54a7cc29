// The API's types, derived from the generated OpenAPI types (src/generated/openapi.ts, from
// docs/openapi.json): when the document changes, `npm run generate` and tsc show what the client must follow.
import type { components, operations, paths } from './generated/openapi.ts';

export type { components, operations, paths };
export type OperationId = keyof operations;
export type ApiPath = keyof paths;
type Schemas = components['schemas'];

type JsonOf<T> = T extends { content: { 'application/json': infer B } } ? B : never;

/** The JSON body of an operation's success answer (200, or 201 for creates). */
export type ResponseOf<Op extends OperationId> = JsonOf<
  operations[Op]['responses'][Extract<keyof operations[Op]['responses'], 200 | 201>]
>;

/** The JSON request body of an operation. */
export type BodyOf<Op extends OperationId> = operations[Op] extends {
  requestBody: { content: { 'application/json': infer B } };
}
  ? B
  : never;

/** The query parameters of an operation, as the API reads them (strings). */
export type QueryOf<Op extends OperationId> = NonNullable<operations[Op]['parameters']['query']>;

/** Numbers and booleans where the API parses a query string into one; otherwise the operation's own. */
type Friendly<Q, Numeric extends string, Flag extends string = never> = Omit<Q, Numeric | Flag> & {
  [K in Numeric & keyof Q]?: number;
} & { [K in Flag & keyof Q]?: boolean };

/** One route: `getRoute`'s query (resolve's `version` is optional: without it the split chooses). */
export type RouteKey = QueryOf<'getRoute'>;
/** A (tenant, service, env): what a split belongs to. */
export type ServiceKey = QueryOf<'getSplit'>;
export type Route = Schemas['Route'];
export type RouteDetail = ResponseOf<'getRoute'>;
export type RouteList = ResponseOf<'listRoutes'>;
export type RouteWriteResponse = ResponseOf<'createRoute'>;
export type CreateRouteBody = BodyOf<'createRoute'>;
export type RollbackRouteBody = BodyOf<'rollbackRoute'>;
export type ListRoutesQuery = Friendly<QueryOf<'listRoutes'>, 'limit', 'active'>;

export type BatchRoutesBody = BodyOf<'batchRoutes'>;
export type BatchOperation = BatchRoutesBody['operations'][number];
export type BatchRoutesResponse = ResponseOf<'batchRoutes'>;
/** A refused batch's answer (400/404/409): every failing operation by index. */
export type BatchFailureBody = JsonOf<operations['batchRoutes']['responses'][400]>;

/** Resolve without a version: the version the split chose for the key (or at random without one). */
export type SplitResolution = Extract<ResponseOf<'resolveRoute'>, { version: string }>;
export type Split = ResponseOf<'getSplit'>;
export type PutSplitBody = BodyOf<'putSplit'>;
export type SplitWriteResponse = ResponseOf<'putSplit'>;
export type SplitDeleted = ResponseOf<'deleteSplit'>;

export type AuditEvent = Schemas['AuditEvent'];
export type AuditPage = ResponseOf<'getRouteAudit'>;
export type RouteAuditQuery = Friendly<QueryOf<'getRouteAudit'>, 'limit'>;
export type RecentAuditQuery = Friendly<QueryOf<'getRecentAudit'>, 'limit' | 'days'>;
export type AuditByActionQuery = Friendly<QueryOf<'getAuditByAction'>, 'limit'>;
export type AuditByTimeRangeQuery = Friendly<QueryOf<'getAuditByTimeRange'>, 'limit'>;

export type Token = Schemas['Token'];
export type CreateTokenBody = BodyOf<'createToken'>;
export type TokenCreated = ResponseOf<'createToken'>;
export type TokenList = ResponseOf<'listTokens'>;
export type ListTokensQuery = Friendly<QueryOf<'listTokens'>, 'limit'>;
export type RevokeTokenBody = BodyOf<'revokeToken'>;
export type TokenRevoked = ResponseOf<'revokeToken'>;
export type TokenAuditPage = ResponseOf<'getTokenAudit'>;
export type TokenAuditQuery = Friendly<QueryOf<'getTokenAudit'>, 'limit'>;

export type Health = ResponseOf<'getHealth'>;
export type Liveness = ResponseOf<'getLiveness'>;
export type Readiness = Schemas['Readiness'];
export type Resilience = ResponseOf<'getResilience'>;
export type OpenApiDocument = ResponseOf<'getOpenApi'>;
export type ApiErrorSchema = Schemas['Error'];
