import * as z from 'zod';
import {
  createdTokenSchema,
  createTokenBodySchema,
  listTokensQuerySchema,
  revokedTokenSchema,
  revokeTokenBodySchema,
  tokenAuditPageSchema,
  tokenAuditQuerySchema,
  tokenListSchema,
} from '#functions/admin/tokens.schema';
import { AUDIT_PATHS } from '#functions/audit/audit-query.schema';
import { auditPageSchema } from '#functions/audit/audit-response.schema';
import {
  healthSchema,
  openApiDocumentSchema,
  readinessSchema,
  resilienceSchema,
} from '#functions/health/health.schema';
import {
  batchRejectedSchema,
  batchRequestSchema,
  batchResponseSchema,
} from '#functions/routes/batch-routes.schema';
import { rollbackRouteBodySchema } from '#functions/routes/rollback-route.schema';
import { listRoutesQuerySchema } from '#functions/routes/route-query.schema';
import {
  resolveRouteResponseSchema,
  routeDetailSchema,
  routeListResponseSchema,
  routeWriteResponseSchema,
} from '#functions/routes/route-response.schema';
import { putSplitBodySchema, splitKeySchema } from '#functions/splits/split.schema';
import {
  resolveQuerySchema,
  resolveSplitResponseSchema,
  splitResponseSchema,
  splitWriteResponseSchema,
} from '#functions/splits/split-response.schema';
import { routeKeySchema, upsertRouteBodySchema } from '#shared/domain/route.schema';

/** Request headers an operation reads besides Authorization and X-Correlation-ID (which every one reads). */
export type RequestHeader = 'If-None-Match' | 'If-Match' | 'Idempotency-Key' | 'X-Route-Key';

/** Response headers beyond X-Correlation-ID (on every answer) and the ones the error answers add. */
export type ResponseHeader = 'ETag' | 'Cache-Control' | 'Idempotent-Replayed';

export interface ResponseSpec {
  readonly description: string;
  /** The JSON body; absent for an answer without one (304). */
  readonly schema?: z.ZodType;
  readonly headers?: readonly ResponseHeader[];
}

export type Tag = 'routes' | 'splits' | 'audit' | 'tokens' | 'health' | 'meta';

export interface OperationSpec {
  /** Stable: the TypeScript client's types are keyed by it. */
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: Tag;
  readonly query?: z.ZodObject;
  readonly headers?: readonly RequestHeader[];
  readonly body?: z.ZodType;
  /**
   * The answers particular to this operation. document.ts adds what every operation of its kind may
   * answer: 400 (with a query or body), 401/403/429 (guarded), 413/415 (with a body), 5XX, the JSON
   * error body, Retry-After and X-Correlation-ID.
   */
  readonly responses: Readonly<Record<number, ResponseSpec>>;
}

const READ_HEADERS: readonly ResponseHeader[] = ['ETag', 'Cache-Control'];
const WRITE_HEADERS: readonly ResponseHeader[] = ['ETag', 'Idempotent-Replayed'];
const WRITE: readonly RequestHeader[] = ['If-Match', 'Idempotency-Key'];

const notModified: ResponseSpec = {
  description: 'The `If-None-Match` entity tag is the current one: no body',
  headers: READ_HEADERS,
};
const routeNotFound: ResponseSpec = { description: 'No such route (`route_not_found`); no ETag' };
const preconditionFailed: ResponseSpec = {
  description: '`If-Match` / `If-None-Match` did not hold (`precondition_failed`, with `current_revision`)',
};
const idempotencyInProgress: ResponseSpec = {
  description: 'A request with the same Idempotency-Key is still running (`idempotency_in_progress`)',
};
const idempotencyKeyReused: ResponseSpec = {
  description: 'The Idempotency-Key was used for another request (`idempotency_key_reused`)',
};
const routeWritten = (description: string): ResponseSpec => ({
  description,
  schema: routeWriteResponseSchema,
  headers: WRITE_HEADERS,
});
const routeWriteErrors = {
  404: routeNotFound,
  409: idempotencyInProgress,
  412: preconditionFailed,
  422: idempotencyKeyReused,
} as const;

/**
 * One entry per HTTP route, keyed `METHOD path` as in functions/route-table.ts: a route added to the table
 * needs its entry here (`npm run openapi` and test/unit/openapi.test.ts name a missing one), and the
 * schemas it names are the ones its handler parses and builds its answers with.
 */
export const operations: Readonly<Record<string, OperationSpec>> = {
  'GET /api/v1/routes/resolve': {
    operationId: 'resolveRoute',
    summary: 'Resolve a route to its endpoint URL, or let the split choose the version',
    description:
      'With `version`: the active route’s URL, from the cache or Postgres; revalidate with `If-None-Match`. ' +
      'Without `version`: the (tenant, service, env)’s split chooses one, by a hash of `key` (or `X-Route-Key`) ' +
      'when given (sticky) or at random by weight; 404 `no_split` when there is none.',
    tag: 'routes',
    query: resolveQuerySchema,
    headers: ['If-None-Match', 'X-Route-Key'],
    responses: {
      200: {
        description:
          'With `version`: `{url}` with an ETag. Without: `{url, version, split_revision, sticky}` (no ETag)',
        schema: z.union([resolveRouteResponseSchema, resolveSplitResponseSchema]),
        headers: READ_HEADERS,
      },
      304: notModified,
      404: {
        description:
          'No active route with this key (`route_not_found`), or no split without a version (`no_split`); no ETag',
      },
    },
  },
  'GET /api/v1/routes': {
    operationId: 'listRoutes',
    summary: 'List a tenant’s routes',
    description: 'Ordered by service, env, version; pass `next_cursor` back as `cursor` for the next page.',
    tag: 'routes',
    query: listRoutesQuerySchema,
    responses: { 200: { description: 'One page of routes', schema: routeListResponseSchema } },
  },
  'GET /api/v1/routes/detail': {
    operationId: 'getRoute',
    summary: 'Read one route, active or not',
    tag: 'routes',
    query: routeKeySchema,
    headers: ['If-None-Match'],
    responses: {
      200: { description: 'The route', schema: routeDetailSchema, headers: READ_HEADERS },
      304: notModified,
      404: routeNotFound,
    },
  },
  'POST /api/v1/routes': {
    operationId: 'createRoute',
    summary: 'Create a route or change its URL',
    description: '`If-None-Match: *` makes it create-only; `If-Match` makes it conditional on a revision.',
    tag: 'routes',
    headers: ['If-Match', 'If-None-Match', 'Idempotency-Key'],
    body: upsertRouteBodySchema,
    responses: {
      200: routeWritten('Updated, or unchanged (the same URL)'),
      201: routeWritten('Created'),
      409: idempotencyInProgress,
      412: preconditionFailed,
      422: idempotencyKeyReused,
    },
  },
  'POST /api/v1/routes/activate': {
    operationId: 'activateRoute',
    summary: 'Activate a route',
    tag: 'routes',
    headers: WRITE,
    body: routeKeySchema,
    responses: { 200: routeWritten('Activated, or already active (`unchanged`)'), ...routeWriteErrors },
  },
  'POST /api/v1/routes/deactivate': {
    operationId: 'deactivateRoute',
    summary: 'Deactivate a route',
    tag: 'routes',
    headers: WRITE,
    body: routeKeySchema,
    responses: { 200: routeWritten('Deactivated, or already inactive (`unchanged`)'), ...routeWriteErrors },
  },
  'POST /api/v1/routes/rollback': {
    operationId: 'rollbackRoute',
    summary: 'Restore the URL and state a route had before its latest change (or at `to_revision`)',
    tag: 'routes',
    headers: WRITE,
    body: rollbackRouteBodySchema,
    responses: {
      200: routeWritten('Rolled back, as a new revision'),
      ...routeWriteErrors,
      409: {
        description:
          'Nothing to roll back to (`nothing_to_roll_back`), or the Idempotency-Key is in use (`idempotency_in_progress`)',
      },
    },
  },
  'POST /api/v1/routes/batch': {
    operationId: 'batchRoutes',
    summary: 'Apply 1-500 creates, activations and deactivations in one transaction, all or nothing',
    description:
      'Each change is its own event (in order, sharing `batch_id`). When any operation is invalid or refers ' +
      'to a missing route, nothing is applied and every failing operation is named by index.',
    tag: 'routes',
    headers: ['Idempotency-Key'],
    body: batchRequestSchema,
    responses: {
      200: { description: 'All applied: one result per operation, in order', schema: batchResponseSchema },
      400: { description: 'Invalid operations (`validation_error`), by index', schema: batchRejectedSchema },
      404: {
        description: 'Operations naming missing routes (`route_not_found`)',
        schema: batchRejectedSchema,
      },
      409: {
        description:
          'A route named twice (`batch_conflict`), or the Idempotency-Key is in use (`idempotency_in_progress`)',
        schema: batchRejectedSchema,
      },
      422: idempotencyKeyReused,
    },
  },
  'GET /api/v1/splits': {
    operationId: 'getSplit',
    summary: 'Read the traffic split of a (tenant, service, env)',
    tag: 'splits',
    query: splitKeySchema,
    headers: ['If-None-Match'],
    responses: {
      200: { description: 'The split', schema: splitResponseSchema, headers: READ_HEADERS },
      304: notModified,
      404: { description: 'No split (`no_split`)' },
    },
  },
  'PUT /api/v1/splits': {
    operationId: 'putSplit',
    summary: 'Create or replace a split: integer weights 0-100 summing to 100, 1-10 active versions',
    tag: 'splits',
    headers: ['If-Match', 'If-None-Match', 'Idempotency-Key'],
    body: putSplitBodySchema,
    responses: {
      200: {
        description: 'Updated, or unchanged',
        schema: splitWriteResponseSchema,
        headers: WRITE_HEADERS,
      },
      201: { description: 'Created', schema: splitWriteResponseSchema, headers: WRITE_HEADERS },
      409: {
        description:
          'A version is not an existing active route (`version_unavailable`), or the Idempotency-Key is in use',
      },
      412: preconditionFailed,
      422: idempotencyKeyReused,
    },
  },
  'DELETE /api/v1/splits': {
    operationId: 'deleteSplit',
    summary: 'Remove a split',
    tag: 'splits',
    query: splitKeySchema,
    headers: ['If-Match', 'Idempotency-Key'],
    responses: {
      200: { description: 'Deleted', schema: splitWriteResponseSchema, headers: WRITE_HEADERS },
      404: { description: 'No split (`no_split`)' },
      409: idempotencyInProgress,
      412: preconditionFailed,
      422: idempotencyKeyReused,
    },
  },
  'GET /api/v1/audit/route': {
    operationId: 'getRouteAudit',
    summary: 'A route’s audit trail, newest first',
    tag: 'audit',
    query: AUDIT_PATHS['/api/v1/audit/route'],
    responses: { 200: { description: 'One page of audit events', schema: auditPageSchema } },
  },
  'GET /api/v1/audit/recent': {
    operationId: 'getRecentAudit',
    summary: 'Audit events of the last `days` days in the token’s tenants, newest first',
    tag: 'audit',
    query: AUDIT_PATHS['/api/v1/audit/recent'],
    responses: { 200: { description: 'One page of audit events', schema: auditPageSchema } },
  },
  'GET /api/v1/audit/action': {
    operationId: 'getAuditByAction',
    summary: 'Audit events of one action in the token’s tenants, newest first',
    tag: 'audit',
    query: AUDIT_PATHS['/api/v1/audit/action'],
    responses: { 200: { description: 'One page of audit events', schema: auditPageSchema } },
  },
  'GET /api/v1/audit/time-range': {
    operationId: 'getAuditByTimeRange',
    summary: 'Audit events from `start` (inclusive) to `end` (exclusive) in the token’s tenants',
    tag: 'audit',
    query: AUDIT_PATHS['/api/v1/audit/time-range'],
    responses: { 200: { description: 'One page of audit events', schema: auditPageSchema } },
  },
  'POST /api/v1/admin/tokens': {
    operationId: 'createToken',
    summary: 'Create an API token (its secret is shown once)',
    tag: 'tokens',
    body: createTokenBodySchema,
    responses: {
      201: { description: 'Created', schema: createdTokenSchema },
      409: { description: 'An active token already has this principal (`principal_taken`)' },
    },
  },
  'GET /api/v1/admin/tokens': {
    operationId: 'listTokens',
    summary: 'List API tokens (never their secrets)',
    tag: 'tokens',
    query: listTokensQuerySchema,
    responses: { 200: { description: 'The tokens', schema: tokenListSchema } },
  },
  'POST /api/v1/admin/tokens/revoke': {
    operationId: 'revokeToken',
    summary: 'Revoke an API token',
    tag: 'tokens',
    body: revokeTokenBodySchema,
    responses: {
      200: { description: 'Revoked, or already revoked (`unchanged`)', schema: revokedTokenSchema },
      404: { description: 'No such token (`token_not_found`)' },
      409: { description: 'The last active admin token, without `allow_last_admin` (`last_admin_token`)' },
    },
  },
  'GET /api/v1/admin/tokens/audit': {
    operationId: 'getTokenAudit',
    summary: 'The token audit trail (creates and revokes), newest first',
    tag: 'tokens',
    query: tokenAuditQuerySchema,
    responses: { 200: { description: 'One page of token audit entries', schema: tokenAuditPageSchema } },
  },
  'GET /health': {
    operationId: 'getHealth',
    summary: 'The service answers',
    tag: 'health',
    responses: { 200: { description: 'Healthy', schema: healthSchema } },
  },
  'GET /health/live': {
    operationId: 'getLiveness',
    summary: 'Liveness',
    tag: 'health',
    responses: { 200: { description: 'Alive', schema: healthSchema } },
  },
  'GET /health/ready': {
    operationId: 'getReadiness',
    summary: 'Readiness: every critical dependency answers',
    tag: 'health',
    responses: {
      200: { description: 'Ready', schema: readinessSchema },
      503: {
        description:
          'Not ready: a critical probe failed (the sources runner answers `{status: "draining"}` while it drains)',
        schema: readinessSchema,
      },
    },
  },
  'GET /health/resilience': {
    operationId: 'getResilience',
    summary: 'Circuit breakers, retry budget and bulkheads',
    tag: 'health',
    responses: { 200: { description: 'The snapshot', schema: resilienceSchema } },
  },
  'GET /openapi.json': {
    operationId: 'getOpenApi',
    summary: 'This document',
    tag: 'meta',
    responses: { 200: { description: 'The OpenAPI 3.1 document', schema: openApiDocumentSchema } },
  },
};
