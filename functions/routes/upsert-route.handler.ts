import { getIdempotencyStore } from '#shared/composition/idempotency-clients';
import { requireBindings } from '#shared/config/config';
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
import { routeResponseBody } from './route-response.ts';
import { admitWrite, writeDeps } from './write-deps.ts';

requireBindings(functionManifest.upsertRoute);

const deps = writeDeps();
const idempotency = getIdempotencyStore();

/** POST /api/v1/routes {tenant, service, env, version, url} → 201 created | 200 updated/unchanged */
export const handler = httpHandler(accessOf('upsertRoute'), async (req) => {
  const body = parseOrThrow(upsertRouteBodySchema, jsonBody(req));
  const { url, ...key } = body;
  await admitWrite(req, key.tenant);
  const ctx = writeContextOf(req);
  return withIdempotencyKey(
    idempotency,
    req,
    { principal: principalOf(req), tenant: key.tenant, payload: body },
    async () => {
      const result = await timedWrite('upsert', () => upsertRoute(deps, key, url, ctx));
      return json(result.outcome === 'created' ? 201 : 200, routeResponseBody(result));
    },
  );
});
