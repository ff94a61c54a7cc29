import { getAdmitDeps, reportCacheError } from '#shared/composition/cache-clients';
import { getResolveSingleFlight, getRouteRepository } from '#shared/composition/clients';
import { getRouteCache } from '#shared/composition/route-cache-clients';
import { getConfig, requireBindings } from '#shared/config/config';
import { RateLimitedError, RouteNotFoundError } from '#shared/domain/errors';
import { etagOf, ifNoneMatchHolds } from '#shared/domain/etag';
import { routeLabel } from '#shared/domain/route';
import { parseRouteKey } from '#shared/domain/route.schema';
import { authorize } from '#shared/middleware/authorize';
import { json } from '#shared/middleware/http';
import { httpHandler } from '#shared/middleware/http-handler';
import { rateLimitCheck } from '#shared/middleware/rate-limit';
import { queryParams } from '#shared/middleware/route-params';
import { appMetrics } from '#shared/observability/metrics';
import { annotate } from '#shared/observability/tracer';
import { admitRequest } from '#shared/use-cases/admit-request.use-case';
import { type ResolveRouteDeps, resolveRoute } from '#shared/use-cases/resolve-route.use-case';
import { functionManifest } from '../function-manifest.ts';
import { accessOf } from '../route-table.ts';
import type { ResolveRouteBody } from './route-response.schema.ts';

requireBindings(functionManifest.resolveRoute);

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
const admitDeps = getAdmitDeps();

/**
 * GET /api/v1/routes/resolve?tenant=&service=&env=&version= → 200 {url} with `ETag` | 304 when
 * `If-None-Match` names the current revision | 404 (no ETag) | 429. The rate-limit call runs concurrently
 * with the cache read (one round trip when pipelined), and fails open.
 */
export const handler = httpHandler(accessOf('resolveRoute'), async (req) => {
  const key = parseRouteKey(queryParams(req, ['tenant', 'service', 'env', 'version']));
  const principal = authorize(req, key.tenant);
  // No limits configured: no limiter call at all (it is on the hot path).
  const admit = admitDeps.policy
    ? rateLimitCheck(admitRequest(admitDeps, principal, { tenant: key.tenant, operation: 'read' }, 'allow'))
    : undefined;
  const started = performance.now();
  const result = await resolveRoute(deps, key, admit).catch((err) => {
    if (!(err instanceof RateLimitedError)) appMetrics.resolve('error', (performance.now() - started) / 1000);
    throw err;
  });
  await admit?.();
  appMetrics.resolve(result.cache, (performance.now() - started) / 1000);
  annotate('cache_outcome', result.cache);
  if (!result.found) throw new RouteNotFoundError(`no active route for ${routeLabel(key)}`);
  // Callers may keep the answer but must revalidate it (it depends on their token: private).
  const headers = { etag: etagOf(result.revision), 'cache-control': 'private, no-cache' };
  if (ifNoneMatchHolds(req.headers['if-none-match'], result.revision)) return json(304, undefined, headers);
  return json(200, { url: result.url } satisfies ResolveRouteBody, headers);
});
