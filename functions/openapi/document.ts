import type * as z from 'zod';
import {
  createDocument,
  type oas31,
  type ZodOpenApiOperationObject,
  type ZodOpenApiResponseObject,
  type ZodOpenApiResponsesObject,
} from 'zod-openapi';
import { type HttpRoute, httpRoutes, isPublic } from '#functions/route-table';
import { ROUTE_KEY_MAX_LENGTH } from '#functions/splits/split.schema';
import { SAFE_ID } from '#shared/middleware/correlation-id';
import { errorBodySchema } from '#shared/middleware/error-body.schema';
import { IDEMPOTENCY_KEY_PATTERN } from '#shared/middleware/idempotency-key';
import { type OperationSpec, operations, type RequestHeader, type ResponseSpec } from './operations.ts';

/** `METHOD path`, the key of a route in `operations`. */
export const operationKey = (route: Pick<HttpRoute, 'method' | 'path'>): string =>
  `${route.method} ${route.path}`;

const ref = (kind: 'parameters' | 'headers', name: string): oas31.ReferenceObject => ({
  $ref: `#/components/${kind}/${name}`,
});

const PARAMETERS: Record<RequestHeader | 'X-Correlation-ID', oas31.ParameterObject> = {
  'If-None-Match': {
    name: 'If-None-Match',
    in: 'header',
    description:
      'On a read: the ETag of the copy you hold; 304 without a body when it is still current. ' +
      'On POST /api/v1/routes: `*` makes it create-only (412 if the route exists).',
    schema: { type: 'string' },
  },
  'If-Match': {
    name: 'If-Match',
    in: 'header',
    description:
      'The route’s ETag as you last saw it (e.g. `"7"`): the write happens only at that revision, else 412.',
    schema: { type: 'string' },
  },
  'Idempotency-Key': {
    name: 'Idempotency-Key',
    in: 'header',
    description:
      'One key per logical write, reused on its retries: a retry gets the first answer back with `Idempotent-Replayed: true`.',
    schema: { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN.source },
  },
  'X-Route-Key': {
    name: 'X-Route-Key',
    in: 'header',
    description:
      'Resolve without `version`: the caller’s stickiness key (the same as `key`; send one of them). The same key gets the same version while the split’s weights stand.',
    schema: { type: 'string', minLength: 1, maxLength: ROUTE_KEY_MAX_LENGTH },
  },
  'X-Correlation-ID': {
    name: 'X-Correlation-ID',
    in: 'header',
    description: 'Echoed on the answer and in every log line; a new one is made when absent or unsafe.',
    schema: { type: 'string', pattern: SAFE_ID.source },
  },
};

const HEADERS: Record<string, oas31.HeaderObject> = {
  'X-Correlation-ID': { description: 'The request’s correlation id', schema: { type: 'string' } },
  ETag: {
    description: 'The route’s revision as a strong entity tag, e.g. `"7"`',
    schema: { type: 'string' },
  },
  'Cache-Control': {
    description: '`private, no-cache`: keep it, but revalidate',
    schema: { type: 'string' },
  },
  'Idempotent-Replayed': {
    description: '`true` when this is the stored answer to an earlier request with the same Idempotency-Key',
    schema: { type: 'string', enum: ['true'] },
  },
  'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } },
  'WWW-Authenticate': { description: '`Bearer realm="traffic-manager"`', schema: { type: 'string' } },
};

const headersOf = (names: readonly string[]) =>
  Object.fromEntries(['X-Correlation-ID', ...names].map((name) => [name, ref('headers', name)]));

const errorResponse = (description: string, headers: readonly string[] = []): ZodOpenApiResponseObject => ({
  description,
  headers: headersOf(headers),
  content: { 'application/json': { schema: errorBodySchema } },
});

const responseOf = (spec: ResponseSpec, status: number): ZodOpenApiResponseObject => {
  if (status >= 400 && !spec.schema)
    return errorResponse(spec.description, status === 429 ? ['Retry-After'] : []);
  return {
    description: spec.description,
    headers: headersOf(spec.headers ?? []),
    ...(spec.schema ? { content: { 'application/json': { schema: spec.schema } } } : {}),
  };
};

/** What every operation of a kind may answer besides its own answers. */
const commonResponses = (
  route: HttpRoute,
  spec: OperationSpec,
): Record<string, ZodOpenApiResponseObject> => ({
  ...(spec.query || spec.body || spec.headers
    ? {
        400: errorResponse(
          'The request is invalid: `validation_error` naming every field, or `malformed_request`',
        ),
      }
    : {}),
  ...(isPublic(route)
    ? {}
    : {
        401: errorResponse('Missing, unknown, expired or revoked token (`unauthorized`)', [
          'WWW-Authenticate',
        ]),
        403: errorResponse('The token’s role or tenants do not cover this request (`forbidden`)'),
        429: errorResponse('Over a rate limit (`rate_limited`)', ['Retry-After']),
      }),
  ...(spec.body
    ? {
        413: errorResponse('The body is too large (`payload_too_large`)'),
        415: errorResponse('The body is not JSON (`unsupported_media_type`)'),
      }
    : {}),
  '5XX': errorResponse(
    'A dependency is unavailable (503 `dependency_unavailable`, `overloaded`) or an internal error (500)',
    ['Retry-After'],
  ),
});

const operationOf = (route: HttpRoute, spec: OperationSpec): ZodOpenApiOperationObject => {
  const own = Object.fromEntries(
    Object.entries(spec.responses).map(([status, r]) => [status, responseOf(r, Number(status))]),
  );
  const permission = isPublic(route)
    ? 'Public: no token.'
    : `Requires a token whose role grants \`${route.permission}\`.`;
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    description: [spec.description, permission].filter(Boolean).join('\n\n'),
    tags: [spec.tag],
    security: isPublic(route) ? [] : [{ bearer: [] }],
    parameters: [...(spec.headers ?? []), 'X-Correlation-ID'].map((name) => ref('parameters', name)),
    ...(spec.query ? { requestParams: { query: spec.query as z.ZodObject } } : {}),
    ...(spec.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: spec.body } } } }
      : {}),
    responses: { ...commonResponses(route, spec), ...own } as ZodOpenApiResponsesObject,
  };
};

/** Routes without an entry in `operations`, and entries without a route: both must be empty. */
export const operationDrift = (routes: readonly HttpRoute[] = httpRoutes) => {
  const keys = new Set(routes.map(operationKey));
  return {
    undocumented: [...keys].filter((k) => !Object.hasOwn(operations, k)),
    unrouted: Object.keys(operations).filter((k) => !keys.has(k)),
  };
};

/**
 * The OpenAPI 3.1 document of the HTTP API, built from the route table and the operations registry with the
 * handlers' own zod schemas. `npm run openapi` writes it to docs/openapi.json, which GET /openapi.json serves.
 */
export const buildOpenApiDocument = (version: string): oas31.OpenAPIObject => {
  const { undocumented, unrouted } = operationDrift();
  if (undocumented.length || unrouted.length) {
    throw new Error(
      `functions/openapi/operations.ts and functions/route-table.ts differ: ` +
        `routes without an operation [${undocumented.join(', ')}], operations without a route [${unrouted.join(', ')}]`,
    );
  }
  const paths: Record<string, Record<string, ZodOpenApiOperationObject>> = {};
  for (const route of httpRoutes) {
    const spec = operations[operationKey(route)]!;
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operationOf(route, spec) };
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Traffic Manager API',
      version,
      description:
        'Resolve (tenant, service, env, version) to an endpoint URL and manage routes. Every error answer is ' +
        'JSON `{error, message, …}`; every answer carries X-Correlation-ID.',
    },
    tags: [
      { name: 'routes', description: 'Resolve, read and change routes' },
      { name: 'audit', description: 'The audit trail of route changes' },
      { name: 'tokens', description: 'API token administration (admin role)' },
      { name: 'health', description: 'Probes (public)' },
      { name: 'meta', description: 'This document (public)' },
    ],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API token: `Authorization: Bearer <secret>` (POST /api/v1/admin/tokens makes one)',
        },
      },
      parameters: PARAMETERS,
      headers: HEADERS,
    },
  });
};
