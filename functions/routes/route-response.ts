import { etagOf } from '#shared/domain/etag';
import type { RouteDetail, RouteRecord, RouteWriteResult } from '#shared/domain/route';
import type { JsonResponse } from '#shared/middleware/http';
import type { RouteBody, RouteDetailBody, RouteWriteBody } from './route-response.schema.ts';

const MESSAGES: Record<RouteWriteResult['outcome'], string> = {
  created: 'Route created successfully',
  updated: 'Route updated successfully',
  unchanged: 'Route unchanged',
  activated: 'Route activated successfully',
  deactivated: 'Route deactivated successfully',
  rolled_back: 'Route rolled back successfully',
};

/** A route as every answer shows it (writes, list): snake_case, with its revision. */
export const routeBody = (route: RouteRecord): RouteBody => ({
  tenant: route.tenant,
  service: route.service,
  env: route.env,
  version: route.version,
  url: route.url,
  is_active: route.isActive,
  revision: route.revision,
});

/** The seed's response shape, plus the route's revision and what the write did (and, rolled back, from where). */
export const routeResponseBody = (result: RouteWriteResult): RouteWriteBody => ({
  message: MESSAGES[result.outcome],
  outcome: result.outcome,
  route: routeBody(result.route),
  ...(result.event?.restoredRevision != null ? { restored_revision: result.event.restoredRevision } : {}),
});

/** GET /api/v1/routes/detail: one route with who created and last changed it, and when. */
export const routeDetailBody = (d: RouteDetail): RouteDetailBody => ({
  ...routeBody(d),
  created_at: d.createdAt.toISOString(),
  updated_at: d.updatedAt.toISOString(),
  created_by: d.createdBy,
  updated_by: d.updatedBy,
});

/**
 * A successful write's answer with the route's new entity tag, for the caller's next `If-Match`. Taken
 * from the body, so an idempotent replay (which stores status and body) carries it too.
 */
export const withRouteEtag = (res: JsonResponse): JsonResponse => {
  const revision = (res.body as { route?: { revision?: unknown } } | null)?.route?.revision;
  if (res.status >= 300 || typeof revision !== 'number') return res;
  return { ...res, headers: { ...res.headers, etag: etagOf(revision) } };
};
