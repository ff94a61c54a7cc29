import { getAdmitDeps } from '#shared/composition/cache-clients';
import { getSplitRepository } from '#shared/composition/split-clients';
import { requireBindings } from '#shared/config/config';
import { etagOf, ifNoneMatchHolds } from '#shared/domain/etag';
import { parseOrThrow } from '#shared/domain/route.schema';
import { authorize } from '#shared/middleware/authorize';
import { json } from '#shared/middleware/http';
import { httpHandler } from '#shared/middleware/http-handler';
import { enforceRateLimit } from '#shared/middleware/rate-limit';
import { queryParams } from '#shared/middleware/route-params';
import { getSplit } from '#shared/use-cases/query-split.use-case';
import { functionManifest } from '../function-manifest.ts';
import { accessOf } from '../route-table.ts';
import { splitBody, splitKeySchema } from './split.schema.ts';

requireBindings(functionManifest.splitQuery);

const deps = { splits: getSplitRepository() };
const admitDeps = getAdmitDeps();

/**
 * GET /api/v1/splits?tenant=&service=&env= → 200 {tenant, service, env, weights, revision} with `ETag`
 * (from Postgres) | 304 when `If-None-Match` names the current revision | 404 no_split.
 */
export const handler = httpHandler(accessOf('splitQuery'), async (req) => {
  const key = parseOrThrow(splitKeySchema, queryParams(req, ['tenant', 'service', 'env']));
  await enforceRateLimit(admitDeps, authorize(req, key.tenant), { tenant: key.tenant, operation: 'read' });
  const split = await getSplit(deps, key);
  const headers = { etag: etagOf(split.revision), 'cache-control': 'private, no-cache' };
  if (ifNoneMatchHolds(req.headers['if-none-match'], split.revision)) return json(304, undefined, headers);
  return json(200, splitBody(key, split.weights, split.revision), headers);
});
