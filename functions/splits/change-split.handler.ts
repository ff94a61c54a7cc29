import { getAdmitDeps, reportCacheError } from '#shared/composition/cache-clients';
import { getIdempotencyStore } from '#shared/composition/idempotency-clients';
import { getRouteCache } from '#shared/composition/route-cache-clients';
import { getSplitRepository } from '#shared/composition/split-clients';
import { getWritePublishing } from '#shared/composition/write-publishing';
import { getConfig, requireBindings } from '#shared/config/config';
import { EndpointNotFoundError } from '#shared/domain/errors';
import { etagOf, writePreconditionOf } from '#shared/domain/etag';
import { parseOrThrow } from '#shared/domain/route.schema';
import type { SplitWriteResult } from '#shared/domain/split';
import { authorize, principalOf } from '#shared/middleware/authorize';
import { type HttpRequest, type JsonResponse, json } from '#shared/middleware/http';
import { httpHandler, jsonBody } from '#shared/middleware/http-handler';
import { withIdempotencyKey } from '#shared/middleware/idempotency-key';
import { enforceRateLimit } from '#shared/middleware/rate-limit';
import { queryParams } from '#shared/middleware/route-params';
import { writeContextOf } from '#shared/middleware/write-context';
import { appMetrics } from '#shared/observability/metrics';
import { timedWrite } from '#shared/observability/timed-write';
import { type ChangeSplitDeps, deleteSplit, putSplit } from '#shared/use-cases/change-split.use-case';
import { functionManifest } from '../function-manifest.ts';
import { accessOf } from '../route-table.ts';
import { putSplitBodySchema, splitKeySchema, splitWriteBody } from './split.schema.ts';

requireBindings(functionManifest.changeSplit);

const { cache } = getConfig();
const deps: ChangeSplitDeps = {
  splits: getSplitRepository(),
  cache: getRouteCache(),
  tombstoneTtlMs: Math.max(cache.positiveTtlMs, cache.negativeTtlMs) * (1 + cache.jitterRatio),
  onCacheError: reportCacheError,
  ...getWritePublishing(),
};
const idempotency = getIdempotencyStore();
const admitDeps = getAdmitDeps();

/** As a route write (functions/routes/write-deps.ts admitWrite): the token covers the tenant, and the buckets. */
const admitWrite = (req: HttpRequest, tenant: string) =>
  enforceRateLimit(admitDeps, authorize(req, tenant), { tenant, operation: 'write' });

/** The headers a replay must match too, and the method: PUT and DELETE share the path (and a key). */
const replayPayload = (req: HttpRequest) => ({
  method: req.method,
  ...(req.headers['if-match'] !== undefined ? { if_match: req.headers['if-match'] } : {}),
  ...(req.headers['if-none-match'] !== undefined ? { if_none_match: req.headers['if-none-match'] } : {}),
});

const answer = (status: number, result: SplitWriteResult): JsonResponse => {
  if (result.event) appMetrics.splitChanged();
  return json(status, splitWriteBody(result));
};

/** The new entity tag from the body (so an idempotent replay carries it too); none once deleted. */
const withSplitEtag = (res: JsonResponse): JsonResponse => {
  const split = (res.body as { split?: { revision?: unknown; weights?: unknown } } | null)?.split;
  if (res.status >= 300 || typeof split?.revision !== 'number' || split.weights === null) return res;
  return { ...res, headers: { ...res.headers, etag: etagOf(split.revision) } };
};

/** PUT /api/v1/splits {tenant, service, env, weights} → 201 created | 200 updated/unchanged | 409 | 412 */
const put = async (req: HttpRequest): Promise<JsonResponse> => {
  const body = parseOrThrow(putSplitBodySchema, jsonBody(req));
  const { weights, ...key } = body;
  const precondition = writePreconditionOf(req.headers, { createOnly: true });
  await admitWrite(req, key.tenant);
  const ctx = { ...writeContextOf(req), ...(precondition ? { precondition } : {}) };
  return withIdempotencyKey(
    idempotency,
    req,
    { principal: principalOf(req), tenant: key.tenant, payload: { ...body, ...replayPayload(req) } },
    async () => {
      const result = await timedWrite('split_put', () => putSplit(deps, key, weights, ctx));
      return answer(result.outcome === 'created' ? 201 : 200, result);
    },
  );
};

/** DELETE /api/v1/splits?tenant=&service=&env= → 200 deleted | 404 no_split | 412 */
const remove = async (req: HttpRequest): Promise<JsonResponse> => {
  const key = parseOrThrow(splitKeySchema, queryParams(req, ['tenant', 'service', 'env']));
  const precondition = writePreconditionOf(req.headers, { createOnly: false });
  await admitWrite(req, key.tenant);
  const ctx = { ...writeContextOf(req), ...(precondition ? { precondition } : {}) };
  return withIdempotencyKey(
    idempotency,
    req,
    { principal: principalOf(req), tenant: key.tenant, payload: { ...key, ...replayPayload(req) } },
    async () => answer(200, await timedWrite('split_delete', () => deleteSplit(deps, key, ctx))),
  );
};

/**
 * Split writes, limited and scoped like route writes (the token must cover the tenant; the tenant's and
 * the token's write buckets), with `If-Match: "<revision>"` (`If-None-Match: *` on PUT: create only) and
 * `Idempotency-Key`.
 */
export const handler = httpHandler(accessOf('changeSplit'), async (req) => {
  if (req.method === 'PUT') return withSplitEtag(await put(req));
  if (req.method === 'DELETE') return remove(req);
  throw new EndpointNotFoundError(`no split write for ${req.method} ${req.path}`);
});
