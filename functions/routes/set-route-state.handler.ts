import { getIdempotencyStore } from '#shared/composition/idempotency-clients';
import { requireBindings } from '#shared/config/config';
import { parseOrThrow, routeKeySchema } from '#shared/domain/route.schema';
import { principalOf } from '#shared/middleware/authorize';
import { json } from '#shared/middleware/http';
import { httpHandler, jsonBody } from '#shared/middleware/http-handler';
import { withIdempotencyKey } from '#shared/middleware/idempotency-key';
import { writeContextOf } from '#shared/middleware/write-context';
import { timedWrite } from '#shared/observability/timed-write';
import { setRouteActive } from '#shared/use-cases/change-route.use-case';
import { functionManifest } from '../function-manifest.ts';
import { accessOf } from '../route-table.ts';
import { routeResponseBody } from './route-response.ts';
import { admitWrite, writeDeps } from './write-deps.ts';

requireBindings(functionManifest.setRouteState);

const deps = writeDeps();
const idempotency = getIdempotencyStore();

/** POST /api/v1/routes/activate | /deactivate {tenant, service, env, version} → 200 | 404 */
export const handler = httpHandler(accessOf('setRouteState'), async (req) => {
  const active = !req.resource.endsWith('/deactivate');
  const key = parseOrThrow(routeKeySchema, jsonBody(req));
  await admitWrite(req, key.tenant);
  const ctx = writeContextOf(req);
  return withIdempotencyKey(
    idempotency,
    req,
    { principal: principalOf(req), tenant: key.tenant, payload: key },
    async () => {
      const result = await timedWrite(active ? 'activate' : 'deactivate', () =>
        setRouteActive(deps, key, active, ctx),
      );
      return json(200, routeResponseBody(result));
    },
  );
});
