import { getAuditStore } from '#shared/composition/audit-clients';
import { getAdmitDeps } from '#shared/composition/cache-clients';
import { requireBindings } from '#shared/config/config';
import { EndpointNotFoundError } from '#shared/domain/errors';
import { authorize, principalOf, tenantFilterOf } from '#shared/middleware/authorize';
import { json } from '#shared/middleware/http';
import { httpHandler } from '#shared/middleware/http-handler';
import { enforceRateLimit } from '#shared/middleware/rate-limit';
import { queryParams } from '#shared/middleware/route-params';
import { queryAudit } from '#shared/use-cases/query-audit.use-case';
import { functionManifest } from '../function-manifest.ts';
import { accessOf } from '../route-table.ts';
import {
  AUDIT_PATHS,
  type AuditPath,
  auditEventBody,
  encodeCursor,
  paramNamesOf,
  parseAuditQuery,
} from './audit-query.schema.ts';
import type { AuditPageBody } from './audit-response.schema.ts';

requireBindings(functionManifest.auditQuery);

const deps = { store: getAuditStore() };
const admitDeps = getAdmitDeps();

const isAuditPath = (resource: string): resource is AuditPath => Object.hasOwn(AUDIT_PATHS, resource);

/**
 * GET /api/v1/audit/route?tenant=&service=&env=&version= | /recent?days= | /action?action= |
 * /time-range?start=&end=, each with limit (1-1000, default 100) and cursor → 200
 * {events (newest first), count, next_cursor}. A route's trail needs a token covering its tenant
 * (else 403); the other queries return only the tenants the token covers.
 */
export const handler = httpHandler(accessOf('auditQuery'), async (req) => {
  if (!isAuditPath(req.resource)) throw new EndpointNotFoundError(`no audit endpoint at ${req.path}`);
  const query = parseAuditQuery(req.resource, queryParams(req, paramNamesOf(req.resource)), new Date());
  const tenant = query.filter.kind === 'route' ? query.filter.route.tenant : undefined;
  const principal = tenant === undefined ? principalOf(req) : authorize(req, tenant);
  await enforceRateLimit(admitDeps, principal, { operation: 'audit', ...(tenant ? { tenant } : {}) });
  const tenants = tenantFilterOf(principal);
  const page = await queryAudit(deps, { ...query, ...(tenants ? { tenants } : {}) });
  return json(200, {
    events: page.records.map(auditEventBody),
    count: page.records.length,
    next_cursor: page.next ? encodeCursor(page.next) : null,
  } satisfies AuditPageBody);
});
