import { getIdempotencyStore } from '#shared/composition/idempotency-clients';
import { requireBindings } from '#shared/config/config';
import { writePreconditionOf } from '#shared/domain/etag';
import { parseOrThrow, upsertRouteBodySchema } from '#shared/domain/route.schema';
import { principalOf } from '#shared/middleware/authorize';
import { json } from '#shared/middleware/http';
import { httpHandler, jsonBody } from '#shared/middleware/http-handler';
import { withIdempotencyKey } from '#shared/middleware/idempotency-key';
import { writeContextOf } from '#shared/middleware/write-context';
import { timedWrite } from '#shared/observability/timed-write';
import { upsertRoute } from '#shared/use-cases/change-route.use-case';
import { functionManifest } from '../function-manifest.ts';
import { accessOf } from '../route-table.ts';
import { routeResponseBody, withRouteEtag } from './route-response.ts';
import { admitWrite, writeDeps } from './write-deps.ts';

requireBindings(functionManifest.upsertRoute);

const deps = writeDeps();
const idempotency = getIdempotencyStore();

/**
 * POST /api/v1/routes {tenant, service, env, version, url} → 201 created | 200 updated/unchanged | 412
 * when `If-Match: "<revision>"` is not the route's revision or `If-None-Match: *` finds it exists.
 */
export const handler = httpHandler(accessOf('upsertRoute'), async (req) => {
  const body = parseOrThrow(upsertRouteBodySchema, jsonBody(req));
  const { url, ...key } = body;
  const precondition = writePreconditionOf(req.headers, { createOnly: true });
  await admitWrite(req, key.tenant);
  const ctx = { ...writeContextOf(req), ...(precondition ? { precondition } : {}) };
  // The same key with another precondition is another request (422 on reuse), not a replay.
  const payload = {
    ...body,
    ...(req.headers['if-match'] !== undefined ? { if_match: req.headers['if-match'] } : {}),
    ...(req.headers['if-none-match'] !== undefined ? { if_none_match: req.headers['if-none-match'] } : {}),
  };
  const res = await withIdempotencyKey(
    idempotency,
    req,
    { principal: principalOf(req), tenant: key.tenant, payload },
    async () => {
      const result = await timedWrite('upsert', () => upsertRoute(deps, key, url, ctx));
      return json(result.outcome === 'created' ? 201 : 200, routeResponseBody(result));
    },
  );
  return withRouteEtag(res);
});
