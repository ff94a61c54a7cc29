import { orderedWeights, type SplitChangedEvent } from '#shared/domain/split';

/** A split_changed outbox row as `to_jsonb(route_events)` renders it. */
export interface SplitOutboxRowJson {
  id: number;
  event_id: string;
  event_type: 'split_changed';
  action: 'split_changed';
  tenant: string;
  service: string;
  env: string;
  weights: Record<string, number> | null;
  previous_weights: Record<string, number> | null;
  revision: number;
  cache_revision: number;
  changed_by: string;
  changed_by_token_id?: string | null;
  correlation_id: string | null;
  occurred_at: string;
  lease_until?: string | null;
}

export const splitEventFromOutboxRow = (row: SplitOutboxRowJson): SplitChangedEvent => ({
  eventId: row.event_id,
  eventType: 'split_changed',
  action: 'split_changed',
  tenant: row.tenant,
  service: row.service,
  env: row.env,
  weights: row.weights ? orderedWeights(row.weights) : null,
  previousWeights: row.previous_weights ? orderedWeights(row.previous_weights) : null,
  revision: Number(row.revision),
  cacheRevision: Number(row.cache_revision),
  changedBy: row.changed_by,
  ...(row.changed_by_token_id != null ? { changedByTokenId: row.changed_by_token_id } : {}),
  occurredAt: new Date(row.occurred_at).toISOString(),
  correlationId: row.correlation_id,
});
