import type { AuditCursor, AuditQuery, AuditRecord, AuditStore } from '#shared/ports/audit-store.port';
import { pageOf } from './page.ts';

export interface AuditPage {
  readonly records: readonly AuditRecord[];
  /** Where the next page starts; null on the last page. */
  readonly next: AuditCursor | null;
}

/**
 * One page of the audit trail, newest first by (occurred_at, event_id), limited to `tenants` when the
 * caller's token covers only some:
 * 1. ask the store for one record more than the page holds;
 * 2. if it exists there is a next page, which starts after the page's last record.
 */
export const queryAudit = async (
  deps: { readonly store: AuditStore },
  query: AuditQuery,
): Promise<AuditPage> => {
  if (query.tenants?.length === 0) return { records: [], next: null };
  const found = await deps.store.find({ ...query, limit: query.limit + 1 });
  const { items, next } = pageOf(found, query.limit, (last) => ({
    occurredAt: last.occurredAt,
    eventId: last.eventId,
  }));
  return { records: items, next };
};
