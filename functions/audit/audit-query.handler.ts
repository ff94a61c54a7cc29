import { getAuditStore } from '#shared/composition/audit-clients';
import { EndpointNotFoundError } from '#shared/domain/errors';
import { json } from '#shared/middleware/http';
import { httpHandler } from '#shared/middleware/http-handler';
import { queryParams } from '#shared/middleware/route-params';
import { queryAudit } from '#shared/use-cases/query-audit.use-case';
import {
  AUDIT_PATHS,
  type AuditPath,
  auditEventBody,
  encodeCursor,
  paramNamesOf,
  parseAuditQuery,
} from './audit-query.schema.ts';

const deps = { store: getAuditStore() };

const isAuditPath = (resource: string): resource is AuditPath => Object.hasOwn(AUDIT_PATHS, resource);

/**
 * GET /api/v1/audit/route?tenant=&service=&env=&version= | /recent?days= | /action?action= |
 * /time-range?start=&end=, each with limit (1-1000, default 100) and cursor → 200
 * {events (newest first), count, next_cursor}.
 */
export const handler = httpHandler(async (req) => {
  if (!isAuditPath(req.resource)) throw new EndpointNotFoundError(`no audit endpoint at ${req.path}`);
  const query = parseAuditQuery(req.resource, queryParams(req, paramNamesOf(req.resource)), new Date());
  const page = await queryAudit(deps, query);
  return json(200, {
    events: page.records.map(auditEventBody),
    count: page.records.length,
    next_cursor: page.next ? encodeCursor(page.next) : null,
  });
});
