import type { RouteWriteResult } from '#shared/domain/route';

const MESSAGES: Record<RouteWriteResult['outcome'], string> = {
  created: 'Route created successfully',
  updated: 'Route updated successfully',
  unchanged: 'Route unchanged',
  activated: 'Route activated successfully',
  deactivated: 'Route deactivated successfully',
};

/** The seed's response shape, plus the route's revision and what the write did. */
export const routeResponseBody = (result: RouteWriteResult) => ({
  message: MESSAGES[result.outcome],
  outcome: result.outcome,
  route: {
    tenant: result.route.tenant,
    service: result.route.service,
    env: result.route.env,
    version: result.route.version,
    url: result.route.url,
    is_active: result.route.isActive,
    revision: result.route.revision,
  },
});
