import { getAdmitDeps } from '#shared/composition/cache-clients';
import { getRouteRepository } from '#shared/composition/clients';
import { requireBindings } from '#shared/config/config';
import { EndpointNotFoundError } from '#shared/domain/errors';
import { etagOf, ifNoneMatchHolds } from '#shared/domain/etag';
import { parseRouteKey } from '#shared/domain/route.schema';
import { authorize } from '#shared/middleware/authorize';
import { type HttpRequest, type JsonResponse, json } from '#shared/middleware/http';
import { httpHandler } from '#shared/middleware/http-handler';
import { enforceRateLimit } from '#shared/middleware/rate-limit';
import { queryParams } from '#shared/middleware/route-params';
import { getRouteDetail, listRoutes, type QueryRoutesDeps } from '#shared/use-cases/query-routes.use-case';
import { functionManifest } from '../function-manifest.ts';
import { accessOf } from '../route-table.ts';
import { encodeRouteCursor, LIST_PARAMS, parseListRoutesQuery } from './route-query.schema.ts';
import type { RouteListBody } from './route-response.schema.ts';
import { routeBody, routeDetailBody } from './route-response.ts';

requireBindings(functionManifest.routeQuery);

const deps: QueryRoutesDeps = { repository: getRouteRepository() };
const admitDeps = getAdmitDeps();

const admitRead = (req: HttpRequest, tenant: string) =>
  enforceRateLimit(admitDeps, authorize(req, tenant), { tenant, operation: 'read' });

/** GET /api/v1/routes?tenant=&service=&env=&active=&limit=&cursor= → 200 {routes, next_cursor}. */
const list = async (req: HttpRequest): Promise<JsonResponse> => {
  const query = parseListRoutesQuery(queryParams(req, LIST_PARAMS));
  await admitRead(req, query.tenant);
  const page = await listRoutes(deps, query);
  return json(200, {
    routes: page.routes.map(routeBody),
    next_cursor: page.next ? encodeRouteCursor(page.next) : null,
  } satisfies RouteListBody);
};

/**
 * GET /api/v1/routes/detail?tenant=&service=&env=&version= → 200 (active or not) with `ETag` | 304 when
 * `If-None-Match` names the current revision | 404 (no ETag).
 */
const detail = async (req: HttpRequest): Promise<JsonResponse> => {
  const key = parseRouteKey(queryParams(req, ['tenant', 'service', 'env', 'version']));
  await admitRead(req, key.tenant);
  const route = await getRouteDetail(deps, key);
  const headers = { etag: etagOf(route.revision), 'cache-control': 'private, no-cache' };
  if (ifNoneMatchHolds(req.headers['if-none-match'], route.revision)) return json(304, undefined, headers);
  return json(200, routeDetailBody(route), headers);
};

/** What is configured, from Postgres (the source of truth): a tenant's routes, and one route in full. */
export const handler = httpHandler(accessOf('routeQuery'), async (req) => {
  if (req.resource === '/api/v1/routes') return list(req);
  if (req.resource === '/api/v1/routes/detail') return detail(req);
  throw new EndpointNotFoundError(`no route query at ${req.path}`);
});
