import { getAdmitDeps } from '#shared/composition/cache-clients';
import { getIdempotencyStore } from '#shared/composition/idempotency-clients';
import { getConfig, requireBindings } from '#shared/config/config';
import { mayActOn } from '#shared/domain/auth';
import { BatchRejectedError, ForbiddenError, ValidationError } from '#shared/domain/errors';
import { principalOf } from '#shared/middleware/authorize';
import { json } from '#shared/middleware/http';
import { httpHandler, jsonBody } from '#shared/middleware/http-handler';
import { withIdempotencyKey } from '#shared/middleware/idempotency-key';
import { enforceShares } from '#shared/middleware/rate-limit';
import { writeContextOf } from '#shared/middleware/write-context';
import { timedWrite } from '#shared/observability/timed-write';
import type { Json } from '#shared/ports/idempotency.port';
import { applyBatch } from '#shared/use-cases/apply-batch.use-case';
import { functionManifest } from '../function-manifest.ts';
import { accessOf } from '../route-table.ts';
import { parseBatchRequest } from './batch-routes.schema.ts';
import { routeResponseBody } from './route-response.ts';
import { batchDeps } from './write-deps.ts';

requireBindings(functionManifest.batchRoutes);

const deps = batchDeps();
const idempotency = getIdempotencyStore();

/**
 * POST /api/v1/routes/batch {operations: [{op: create|activate|deactivate, tenant, service, env, version,
 * url?}, …]} → 200 {batch_id, results}: all applied in one transaction, or none and 400/404/409 naming
 * every failing operation. Every tenant must be covered by the token (403) and is charged one write per
 * operation of its own (429).
 */
export const handler = httpHandler(
  accessOf('batchRoutes'),
  async (req) => {
    const body = jsonBody(req);
    const parsed = parseBatchRequest(body);
    if (!parsed.ok) {
      if ('envelope' in parsed) throw new ValidationError(parsed.envelope);
      throw new BatchRejectedError(400, parsed.failures);
    }
    const { operations } = parsed;
    const principal = principalOf(req);
    const shares = new Map<string, number>();
    for (const { key } of operations) shares.set(key.tenant, (shares.get(key.tenant) ?? 0) + 1);
    const uncovered = [...shares.keys()].filter((tenant) => !mayActOn(principal, tenant));
    if (uncovered.length > 0) {
      throw new ForbiddenError(`this token does not cover tenant ${uncovered.join(', ')}`, {
        tenants: uncovered,
      });
    }
    await enforceShares(getAdmitDeps(), principal, shares);
    const tenants = [...shares.keys()].sort().join(',');
    return withIdempotencyKey(
      idempotency,
      req,
      { principal, tenant: tenants, payload: body as Json },
      async () => {
        const { batchId, results } = await timedWrite('batch', () =>
          applyBatch(deps, operations, writeContextOf(req)),
        );
        return json(200, { batch_id: batchId, results: results.map(routeResponseBody) });
      },
    );
  },
  { maxBodyBytes: getConfig().http.maxBatchBodyBytes },
);
