import { RouteNotFoundError } from '#shared/domain/errors';
import {
  type RouteDetail,
  type RouteKey,
  type RouteListCursor,
  type RouteListQuery,
  type RouteRecord,
  routeLabel,
} from '#shared/domain/route';
import type { RouteRepository } from '#shared/ports/route-repository.port';
import { pageOf } from './page.ts';

export interface QueryRoutesDeps {
  readonly repository: RouteRepository;
}

/**
 * One page of a tenant's routes, active or not, from Postgres (the source of truth; listings are not
 * cached): asks for one more than the page holds, and the next page starts after the page's last route.
 */
export const listRoutes = async (
  deps: QueryRoutesDeps,
  query: RouteListQuery,
): Promise<{ readonly routes: readonly RouteRecord[]; readonly next: RouteListCursor | null }> => {
  const found = await deps.repository.listRoutes({ ...query, limit: query.limit + 1 });
  const { items, next } = pageOf(found, query.limit, (r) => ({
    service: r.service,
    env: r.env,
    version: r.version,
  }));
  return { routes: items, next };
};

/** One route, active or not, with who created and last changed it; RouteNotFoundError when missing. */
export const getRouteDetail = async (deps: QueryRoutesDeps, key: RouteKey): Promise<RouteDetail> => {
  const detail = await deps.repository.findRouteDetail(key);
  if (!detail) throw new RouteNotFoundError(`route ${routeLabel(key)} does not exist`);
  return detail;
};
