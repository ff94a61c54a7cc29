import {
  getResolveSingleFlight,
  getRouteCache,
  getRouteRepository,
  reportCacheError,
} from '#shared/composition/clients';
import { getConfig } from '#shared/config/config';
import { RouteNotFoundError } from '#shared/domain/errors';
import { routeLabel } from '#shared/domain/route';
import { parseRouteKey } from '#shared/domain/route.schema';
import { json } from '#shared/middleware/http';
import { httpHandler } from '#shared/middleware/http-handler';
import { queryParams } from '#shared/middleware/route-params';
import { appMetrics } from '#shared/observability/metrics';
import { annotate } from '#shared/observability/tracer';
import { type ResolveRouteDeps, resolveRoute } from '#shared/use-cases/resolve-route.use-case';

const { cache } = getConfig();
const deps: ResolveRouteDeps = {
  repository: getRouteRepository(),
  cache: getRouteCache(),
  singleFlight: getResolveSingleFlight(),
  policy: {
    positiveTtlMs: cache.positiveTtlMs,
    negativeTtlMs: cache.negativeTtlMs,
    jitterRatio: cache.jitterRatio,
  },
  onCacheError: reportCacheError,
};

/** GET /api/v1/routes/resolve?tenant=&service=&env=&version= → 200 {url} | 404 */
export const handler = httpHandler(async (req) => {
  const key = parseRouteKey(queryParams(req, ['tenant', 'service', 'env', 'version']));
  const started = performance.now();
  const result = await resolveRoute(deps, key).catch((err) => {
    appMetrics.resolve('error', (performance.now() - started) / 1000);
    throw err;
  });
  appMetrics.resolve(result.cache, (performance.now() - started) / 1000);
  annotate('cache_outcome', result.cache);
  if (!result.found) throw new RouteNotFoundError(`no active route for ${routeLabel(key)}`);
  return json(200, { url: result.url });
});
