import { getAdmitDeps, reportCacheError } from '#shared/composition/cache-clients';
import { getResolveSingleFlight, getRouteRepository } from '#shared/composition/clients';
import { getRouteCache } from '#shared/composition/route-cache-clients';
import { getSplitRepository } from '#shared/composition/split-clients';
import { getConfig, requireBindings } from '#shared/config/config';
import {
  RateLimitedError,
  RouteNotFoundError,
  SplitNotFoundError,
  ValidationError,
} from '#shared/domain/errors';
import { etagOf, ifNoneMatchHolds } from '#shared/domain/etag';
import { routeLabel } from '#shared/domain/route';
import { NAME_PATTERN, parseOrThrow, parseRouteKey } from '#shared/domain/route.schema';
import { splitLabel } from '#shared/domain/split';
import { authorize } from '#shared/middleware/authorize';
import { type HttpRequest, type JsonResponse, json } from '#shared/middleware/http';
import { httpHandler } from '#shared/middleware/http-handler';
import { rateLimitCheck } from '#shared/middleware/rate-limit';
import { queryParams } from '#shared/middleware/route-params';
import { appMetrics } from '#shared/observability/metrics';
import { annotate } from '#shared/observability/tracer';
import { admitRequest } from '#shared/use-cases/admit-request.use-case';
import { type ResolveRouteDeps, resolveRoute } from '#shared/use-cases/resolve-route.use-case';
import { type ResolveSplitDeps, resolveSplit } from '#shared/use-cases/resolve-split.use-case';
import { functionManifest } from '../function-manifest.ts';
import { accessOf } from '../route-table.ts';
import { ROUTE_KEY_MAX_LENGTH, resolveSplitQuerySchema } from '../splits/split.schema.ts';
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
const splitDeps: ResolveSplitDeps = { ...deps, splits: getSplitRepository() };
const admitDeps = getAdmitDeps();

/** The read-limit check, started alongside the cache read; undefined when no limits are configured. */
const admitRead = (req: HttpRequest, tenant: string) => {
  const principal = authorize(req, tenant);
  return admitDeps.policy
    ? rateLimitCheck(admitRequest(admitDeps, principal, { tenant, operation: 'read' }, 'allow'))
    : undefined;
};

const isName = (v: string | undefined): v is string => v !== undefined && NAME_PATTERN.test(v);

/** The split's names and key; well-formed ones checked directly (the hot path), anything else by the schema. */
const parseSplitQuery = (q: Record<'tenant' | 'service' | 'env' | 'key', string | undefined>) => {
  const { tenant, service, env, key } = q;
  const keyOk = key === undefined || (key.length >= 1 && key.length <= ROUTE_KEY_MAX_LENGTH);
  if (isName(tenant) && isName(service) && isName(env) && keyOk) return { tenant, service, env, key };
  return parseOrThrow(resolveSplitQuerySchema, q);
};

/** The caller's stickiness key: `key` or `X-Route-Key` (both: they must agree). */
const routeKeyOf = (req: HttpRequest, fromQuery: string | undefined): string | undefined => {
  const header = req.headers['x-route-key'];
  if (header === undefined) return fromQuery;
  const fromHeader = header;
  if (fromHeader.length < 1 || fromHeader.length > ROUTE_KEY_MAX_LENGTH) {
    throw new ValidationError([
      { field: 'X-Route-Key', rule: 'length', message: `must be 1-${ROUTE_KEY_MAX_LENGTH} characters` },
    ]);
  }
  if (fromQuery !== undefined && fromQuery !== fromHeader) {
    throw new ValidationError([
      { field: 'key', rule: 'conflict', message: 'key and X-Route-Key differ; send one of them' },
    ]);
  }
  return fromHeader;
};

/**
 * GET /api/v1/routes/resolve?tenant=&service=&env=[&key=] (no version) → 200 {url, version,
 * split_revision, sticky} chosen by the (tenant, service, env)'s split | 404 no_split | 429. One cache
 * read on a hit; the key (or X-Route-Key) makes the choice sticky, without one it is random by weight.
 */
const resolveWithoutVersion = async (req: HttpRequest): Promise<JsonResponse> => {
  const { key: fromQuery, ...key } = parseSplitQuery(queryParams(req, ['tenant', 'service', 'env', 'key']));
  const routeKey = routeKeyOf(req, fromQuery);
  const admit = admitRead(req, key.tenant);
  const started = performance.now();
  const result = await resolveSplit(splitDeps, key, routeKey, admit).catch((err) => {
    if (!(err instanceof RateLimitedError)) appMetrics.resolve('error', (performance.now() - started) / 1000);
    throw err;
  });
  await admit?.();
  appMetrics.resolve(result.cache, (performance.now() - started) / 1000);
  annotate('cache_outcome', result.cache);
  if (!result.found) throw new SplitNotFoundError(`no split for ${splitLabel(key)}`);
  appMetrics.splitResolve(result.slot, result.sticky ? 'sticky' : 'random');
  return json(
    200,
    { url: result.url, version: result.version, split_revision: result.splitRevision, sticky: result.sticky },
    { 'cache-control': 'private, no-cache' },
  );
};

/**
 * Without `version`: resolveWithoutVersion (the split). With one:
 * GET /api/v1/routes/resolve?tenant=&service=&env=&version= → 200 {url} with `ETag` | 304 when
 * `If-None-Match` names the current revision | 404 (no ETag) | 429. The rate-limit call runs concurrently
 * with the cache read (one round trip when pipelined), and fails open.
 */
export const handler = httpHandler(accessOf('resolveRoute'), async (req) => {
  if (req.query.version === undefined && req.multiQuery.version === undefined)
    return resolveWithoutVersion(req);
  const key = parseRouteKey(queryParams(req, ['tenant', 'service', 'env', 'version']));
  // No limits configured: no limiter call at all (it is on the hot path).
  const admit = admitRead(req, key.tenant);
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
