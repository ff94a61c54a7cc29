import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument, operationDrift, operationKey } from '#functions/openapi/document';
import { operations } from '#functions/openapi/operations';
import { OPENAPI_PATH, packageVersion } from '#functions/openapi/paths';
import { httpRoutes, isPublic } from '#functions/route-table';

type Operation = { operationId: string; security?: unknown[]; responses: Record<string, unknown> };
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>> };

const committed = (): Doc => JSON.parse(readFileSync(OPENAPI_PATH, 'utf8'));
const generated = (): Doc => JSON.parse(JSON.stringify(buildOpenApiDocument(packageVersion())));
const methodsOf = (doc: Doc) =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
  );

describe('the OpenAPI document (docs/openapi.json)', () => {
  it('is what npm run openapi generates from the route table and the handlers’ schemas', () => {
    expect(committed()).toEqual(generated());
  });

  it('has every route of the table, and nothing else', () => {
    expect(operationDrift()).toEqual({ undocumented: [], unrouted: [] });
    expect(methodsOf(committed()).sort()).toEqual(httpRoutes.map(operationKey).sort());
  });

  it('names a route missing from the registry', () => {
    const extra = { method: 'GET', path: '/api/v1/nowhere', fn: 'health', permission: 'public' } as const;
    expect(operationDrift([...httpRoutes, { ...extra, operation: 'health' }]).undocumented).toEqual([
      'GET /api/v1/nowhere',
    ]);
  });

  it('validates as OpenAPI 3.1 (its $refs resolve)', async () => {
    const validator = new Validator();
    const result = await validator.validate(committed());
    expect(result).toEqual({ valid: true });
    expect(validator.version).toBe('3.1');
  });

  it('refuses a document with a dangling $ref (the validator is not a rubber stamp)', async () => {
    const doc = committed();
    (doc.paths['/health']!.get as unknown as { parameters: unknown[] }).parameters.push({
      $ref: '#/components/parameters/Nope',
    });
    expect((await new Validator().validate(doc)).valid).toBe(false);
  });

  it('gives every operation the stable operationId the client is generated with', () => {
    const ids = Object.fromEntries(
      httpRoutes.map((r) => [operationKey(r), operations[operationKey(r)]!.operationId]),
    );
    expect(ids).toEqual({
      'GET /api/v1/routes/resolve': 'resolveRoute',
      'GET /api/v1/routes': 'listRoutes',
      'GET /api/v1/routes/detail': 'getRoute',
      'POST /api/v1/routes': 'createRoute',
      'POST /api/v1/routes/activate': 'activateRoute',
      'POST /api/v1/routes/batch': 'batchRoutes',
      'GET /api/v1/splits': 'getSplit',
      'PUT /api/v1/splits': 'putSplit',
      'DELETE /api/v1/splits': 'deleteSplit',
      'POST /api/v1/routes/deactivate': 'deactivateRoute',
      'POST /api/v1/routes/rollback': 'rollbackRoute',
      'GET /api/v1/audit/route': 'getRouteAudit',
      'GET /api/v1/audit/recent': 'getRecentAudit',
      'GET /api/v1/audit/action': 'getAuditByAction',
      'GET /api/v1/audit/time-range': 'getAuditByTimeRange',
      'POST /api/v1/admin/tokens': 'createToken',
      'GET /api/v1/admin/tokens': 'listTokens',
      'POST /api/v1/admin/tokens/revoke': 'revokeToken',
      'GET /api/v1/admin/tokens/audit': 'getTokenAudit',
      'GET /health': 'getHealth',
      'GET /health/live': 'getLiveness',
      'GET /health/ready': 'getReadiness',
      'GET /health/resilience': 'getResilience',
      'GET /openapi.json': 'getOpenApi',
    });
    expect(new Set(Object.values(ids)).size).toBe(Object.keys(ids).length);
  });

  it('asks for a bearer token exactly where the authorizer guards the route, with its 401/403/429', () => {
    const doc = committed();
    for (const route of httpRoutes) {
      const op = doc.paths[route.path]![route.method.toLowerCase()]!;
      const statuses = Object.keys(op.responses);
      if (isPublic(route)) {
        expect(op.security, operationKey(route)).toEqual([]);
        expect(statuses, operationKey(route)).not.toContain('401');
      } else {
        expect(op.security, operationKey(route)).toEqual([{ bearer: [] }]);
        expect(statuses, operationKey(route)).toEqual(expect.arrayContaining(['401', '403', '429', '5XX']));
      }
    }
  });

  it('documents conditional reads (ETag, 304) and conditional, idempotent writes (If-Match, 412)', () => {
    const doc = committed() as unknown as {
      paths: Record<
        string,
        Record<string, { parameters: { $ref?: string }[]; responses: Record<string, { headers?: object }> }>
      >;
    };
    const resolve = doc.paths['/api/v1/routes/resolve']!.get!;
    expect(Object.keys(resolve.responses)).toEqual(expect.arrayContaining(['200', '304', '404']));
    expect(resolve.responses['200']!.headers).toHaveProperty('ETag');
    expect(resolve.parameters.map((p) => p.$ref)).toContain('#/components/parameters/If-None-Match');
    const activate = doc.paths['/api/v1/routes/activate']!.post!;
    expect(Object.keys(activate.responses)).toEqual(expect.arrayContaining(['200', '404', '412']));
    expect(activate.parameters.map((p) => p.$ref)).toEqual(
      expect.arrayContaining(['#/components/parameters/If-Match', '#/components/parameters/Idempotency-Key']),
    );
  });
});
