import { getIdempotencyStore } from '#shared/composition/idempotency-clients';
import { requireBindings } from '#shared/config/config';
import { writePreconditionOf } from '#shared/domain/etag';
import { parseOrThrow, routeKeySchema } from '#shared/domain/route.schema';
import { principalOf } from '#shared/middleware/authorize';
import { type HttpRequest, json } from '#shared/middleware/http';
import { httpHandler, jsonBody } from '#shared/middleware/http-handler';
import { withIdempotencyKey } from '#shared/middleware/idempotency-key';
import { writeContextOf } from '#shared/middleware/write-context';
import { timedWrite } from '#shared/observability/timed-write';
import { rollbackRoute, setRouteActive } from '#shared/use-cases/change-route.use-case';
import { functionManifest } from '../function-manifest.ts';
import { accessOf } from '../route-table.ts';
import { rollbackRouteBodySchema } from './rollback-route.schema.ts';
import { routeResponseBody, withRouteEtag } from './route-response.ts';
import { admitWrite, writeDeps } from './write-deps.ts';

requireBindings(functionManifest.setRouteState);

const deps = writeDeps();
const idempotency = getIdempotencyStore();

/** The headers a replay must match too: the same key with another precondition is another request. */
const conditionalPayload = (req: HttpRequest) => ({
  ...(req.headers['if-match'] !== undefined ? { if_match: req.headers['if-match'] } : {}),
});

/** POST /api/v1/routes/rollback {tenant, service, env, version, to_revision?} → 200 | 404 | 409 | 412 */
const rollback = async (req: HttpRequest) => {
  const body = parseOrThrow(rollbackRouteBodySchema, jsonBody(req));
  const { to_revision: toRevision, ...key } = body;
  const precondition = writePreconditionOf(req.headers, { createOnly: false });
  await admitWrite(req, key.tenant);
  const ctx = { ...writeContextOf(req), ...(precondition ? { precondition } : {}) };
  const payload = { ...body, ...conditionalPayload(req) };
  return withIdempotencyKey(
    idempotency,
    req,
    { principal: principalOf(req), tenant: key.tenant, payload },
    async () => {
      const result = await timedWrite('rollback', () => rollbackRoute(deps, key, toRevision ?? null, ctx));
      return json(200, routeResponseBody(result));
    },
  );
};

/**
 * POST /api/v1/routes/activate | /deactivate {tenant, service, env, version} → 200 | 404 | 412, and
 * /rollback. `If-Match: "<revision>"` makes any of them conditional on the route's current revision.
 */
export const handler = httpHandler(accessOf('setRouteState'), async (req) => {
  if (req.resource.endsWith('/rollback')) return withRouteEtag(await rollback(req));
  const active = !req.resource.endsWith('/deactivate');
  const key = parseOrThrow(routeKeySchema, jsonBody(req));
  const precondition = writePreconditionOf(req.headers, { createOnly: false });
  await admitWrite(req, key.tenant);
  const ctx = { ...writeContextOf(req), ...(precondition ? { precondition } : {}) };
  const payload = { ...key, ...conditionalPayload(req) };
  const res = await withIdempotencyKey(
    idempotency,
    req,
    { principal: principalOf(req), tenant: key.tenant, payload },
    async () => {
      const result = await timedWrite(active ? 'activate' : 'deactivate', () =>
        setRouteActive(deps, key, active, ctx),
      );
      return json(200, routeResponseBody(result));
    },
  );
  return withRouteEtag(res);
});
