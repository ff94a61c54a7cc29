import * as z from 'zod';
import { ValidationError } from '#shared/domain/errors';
import { parseOrThrow, routeKeySchema } from '#shared/domain/route.schema';
import { intParam } from '#shared/middleware/route-params';
import {
  AUDIT_ACTIONS,
  type AuditCursor,
  type AuditFilter,
  type AuditRecord,
} from '#shared/ports/audit-store.port';
import type { AuditEventBody } from './audit-response.schema.ts';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
export const DEFAULT_DAYS = 7;
export const MAX_DAYS = 3650;

const required = (i: { input: unknown }) => (i.input === undefined ? 'is required' : 'must be a string');

/** ISO-8601 date-time with `Z` or an offset; read as an instant. */
const instant = z
  .string({ error: required })
  .pipe(z.iso.datetime({ offset: true, error: 'must be an ISO-8601 date-time, e.g. 2025-01-31T12:00:00Z' }))
  .transform((s) => new Date(s))
  .meta({ description: 'ISO-8601 date-time with `Z` or an offset', override: { format: 'date-time' } });

const pageSchema = z.object({
  limit: intParam(1, MAX_LIMIT, DEFAULT_LIMIT),
  cursor: z.string().max(512).optional().meta({ description: 'The previous page’s `next_cursor`' }),
});

const actionSchema = z
  .string({ error: required })
  .pipe(z.enum(AUDIT_ACTIONS, { error: `must be one of ${AUDIT_ACTIONS.join(', ')}` }));

/** The query parameters each audit path reads (everything else in the query string is ignored). */
export const AUDIT_PATHS = {
  '/api/v1/audit/route': routeKeySchema.extend(pageSchema.shape),
  '/api/v1/audit/recent': pageSchema.extend({ days: intParam(1, MAX_DAYS, DEFAULT_DAYS) }),
  '/api/v1/audit/action': pageSchema.extend({ action: actionSchema }),
  '/api/v1/audit/time-range': pageSchema.extend({ start: instant, end: instant }),
} as const;

export type AuditPath = keyof typeof AUDIT_PATHS;

export const paramNamesOf = (path: AuditPath): string[] => Object.keys(AUDIT_PATHS[path].shape);

/** The opaque cursor: base64url of the last record's (occurred_at, event_id). */
export const encodeCursor = (c: AuditCursor): string =>
  Buffer.from(JSON.stringify([c.occurredAt.toISOString(), c.eventId])).toString('base64url');

const cursorSchema = z.tuple([z.iso.datetime(), z.uuid()]);

export const decodeCursor = (raw: string): AuditCursor => {
  try {
    const [t, id] = cursorSchema.parse(JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')));
    return { occurredAt: new Date(t), eventId: id };
  } catch {
    throw new ValidationError([
      { field: 'cursor', rule: 'format', message: 'must be a next_cursor value from a previous page' },
    ]);
  }
};

export interface ParsedAuditQuery {
  readonly filter: AuditFilter;
  readonly limit: number;
  readonly after?: AuditCursor;
}

/** Validates one path's parameters (400 naming the first bad one) and turns them into a store query. */
export const parseAuditQuery = (
  path: AuditPath,
  params: Record<string, string | undefined>,
  now: Date,
): ParsedAuditQuery => {
  const page = (p: { limit: number; cursor?: string | undefined }) => ({
    limit: p.limit,
    ...(p.cursor !== undefined ? { after: decodeCursor(p.cursor) } : {}),
  });
  switch (path) {
    case '/api/v1/audit/route': {
      const p = parseOrThrow(AUDIT_PATHS[path], params);
      const { tenant, service, env, version } = p;
      return { filter: { kind: 'route', route: { tenant, service, env, version } }, ...page(p) };
    }
    case '/api/v1/audit/recent': {
      const p = parseOrThrow(AUDIT_PATHS[path], params);
      return { filter: { kind: 'time', from: new Date(now.getTime() - p.days * 86_400_000) }, ...page(p) };
    }
    case '/api/v1/audit/action': {
      const p = parseOrThrow(AUDIT_PATHS[path], params);
      return { filter: { kind: 'action', action: p.action }, ...page(p) };
    }
    case '/api/v1/audit/time-range': {
      const p = parseOrThrow(AUDIT_PATHS[path], params);
      if (p.end.getTime() <= p.start.getTime()) {
        throw new ValidationError([{ field: 'end', rule: 'range', message: 'must be after start' }]);
      }
      return { filter: { kind: 'time', from: p.start, to: p.end }, ...page(p) };
    }
  }
};

/** An audit document as the API returns it: the stored snake_case shape, times in ISO-8601 UTC, no transport details. */
export const auditEventBody = (r: AuditRecord): AuditEventBody => ({
  event_id: r.eventId,
  event_type: r.eventType,
  action: r.action,
  route: r.route,
  url: r.url,
  previous_url: r.previousUrl,
  previous_state: r.previousState,
  revision: r.revision,
  restored_revision: r.restoredRevision,
  changed_by: r.changedBy,
  changed_by_token_id: r.changedByTokenId,
  correlation_id: r.correlationId,
  batch_id: r.batchId ?? null,
  occurred_at: r.occurredAt.toISOString(),
  processed_at: r.processedAt.toISOString(),
  ...(r.eventType === 'split_changed'
    ? { weights: r.weights ?? null, previous_weights: r.previousWeights ?? null }
    : {}),
  // Not r.metadata: where the event was read (Kafka partition and offset) hints at other tenants' volume.
});
