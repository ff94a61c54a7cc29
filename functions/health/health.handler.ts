import { readinessProbes } from '#shared/composition/readiness-clients';
import { getConfig, requireBindings } from '#shared/config/config';
import { EndpointNotFoundError } from '#shared/domain/errors';
import { json } from '#shared/middleware/http';
import { httpHandler } from '#shared/middleware/http-handler';
import { hostStatus } from '#shared/resilience/host-status';
import { resilienceSnapshot } from '#shared/resilience/registry';
import { checkReadiness } from '#shared/use-cases/check-readiness.use-case';
import { functionManifest } from '../function-manifest.ts';
import { accessOf } from '../route-table.ts';
import type { HealthBody, ReadinessBody, ResilienceBody } from './health.schema.ts';
import { openApiDocument } from './openapi-document.ts';

requireBindings(functionManifest.health);

const { serviceName } = getConfig();
/** Readiness answers within this bound whatever is down. */
const READY_DEADLINE_MS = 800;

/**
 * GET /health, /health/live, /health/ready, /health/resilience, and /openapi.json: the committed document
 * (shipped next to the bundle, read on first use; test/unit/openapi.test.ts keeps it equal to what
 * `npm run openapi` generates).
 */
export const handler = httpHandler(accessOf('health'), async (req) => {
  switch (req.resource) {
    case '/health':
      return json(200, { status: 'healthy', service: serviceName } satisfies HealthBody);
    case '/health/live':
      return json(200, { status: 'alive', service: serviceName } satisfies HealthBody);
    case '/health/ready': {
      const { ready, checks } = await checkReadiness(readinessProbes(), READY_DEADLINE_MS);
      return json(ready ? 200 : 503, {
        status: ready ? 'ready' : 'not_ready',
        service: serviceName,
        checks,
      } satisfies ReadinessBody);
    }
    case '/health/resilience':
      return json(200, {
        service: serviceName,
        ...resilienceSnapshot(),
        ...hostStatus(),
      } satisfies ResilienceBody);
    case '/openapi.json':
      return json(200, await openApiDocument());
    default:
      throw new EndpointNotFoundError(`no health endpoint at ${req.path}`);
  }
});
