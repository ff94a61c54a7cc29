import type { AuditCursor, AuditFilter, AuditRecord, AuditStore } from '#shared/ports/audit-store.port';

export interface AuditPage {
  readonly records: readonly AuditRecord[];
  /** Where the next page starts; null on the last page. */
  readonly next: AuditCursor | null;
}

/**
 * One page of the audit trail, newest first by (occurred_at, event_id):
 * 1. ask the store for one record more than the page holds;
 * 2. if it exists there is a next page, which starts after the page's last record.
 */
export const queryAudit = async (
  deps: { readonly store: AuditStore },
  query: { readonly filter: AuditFilter; readonly limit: number; readonly after?: AuditCursor },
): Promise<AuditPage> => {
  const found = await deps.store.find({ ...query, limit: query.limit + 1 });
  const records = found.slice(0, query.limit);
  const last = records.at(-1);
  const next =
    found.length > query.limit && last ? { occurredAt: last.occurredAt, eventId: last.eventId } : null;
  return { records, next };
};
