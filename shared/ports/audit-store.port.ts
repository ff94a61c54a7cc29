import type { RouteAction, RouteKey, RouteState } from '#shared/domain/route';
import type { SplitKey, Weights } from '#shared/domain/split';

/** What the audit trail can filter on: a route's actions, and `split_changed`. */
export const AUDIT_ACTIONS = [
  'created',
  'updated',
  'activated',
  'deactivated',
  'rolled_back',
  'split_changed',
] as const;
export type AuditAction = RouteAction | 'split_changed';

/**
 * One audit document per route_changed event (the seed's shape plus revision and correlation id), and per
 * split_changed event: its route is the split's (tenant, service, env), no URL, the weights before and after.
 */
export interface AuditRecord {
  readonly eventId: string;
  readonly eventType: 'route_changed' | 'split_changed';
  readonly action: AuditAction;
  readonly route: RouteKey | SplitKey;
  /** Null for split_changed. */
  readonly url: string | null;
  readonly previousUrl: string | null;
  readonly previousState: RouteState | null;
  readonly revision: number;
  /** `rolled_back` only: the revision it restored; null otherwise. */
  readonly restoredRevision: number | null;
  readonly changedBy: string;
  /** The acting token's id; null with auth off or for events recorded before it existed. */
  readonly changedByTokenId: string | null;
  readonly correlationId: string | null;
  /** The bulk change (POST /api/v1/routes/batch) the event was part of; null/absent for single writes. */
  readonly batchId?: string | null;
  readonly occurredAt: Date;
  readonly processedAt: Date;
  readonly metadata: Record<string, unknown>;
  /** split_changed only: the weights after (null: deleted) and before (null: created). */
  readonly weights?: Weights | null;
  readonly previousWeights?: Weights | null;
}

export type AuditFilter =
  | { readonly kind: 'route'; readonly route: RouteKey }
  | { readonly kind: 'action'; readonly action: AuditAction }
  /** `from` inclusive, `to` exclusive; either may be open. */
  | { readonly kind: 'time'; readonly from?: Date; readonly to?: Date };

/** Position after which the next page starts, in (occurred_at, event_id) descending order. */
export interface AuditCursor {
  readonly occurredAt: Date;
  readonly eventId: string;
}

export interface AuditQuery {
  readonly filter: AuditFilter;
  readonly limit: number;
  readonly after?: AuditCursor;
  /** Only records of these tenants (a token that covers some tenants); absent: every tenant. */
  readonly tenants?: readonly string[];
}

export interface AuditStore {
  /** Inserts each record once: a record whose event id is already stored counts as a duplicate. */
  append(records: readonly AuditRecord[]): Promise<{ inserted: number; duplicates: number }>;
  /** Newest first by (occurred_at, event_id); at most `limit` records. */
  find(query: AuditQuery): Promise<AuditRecord[]>;
  ping(): Promise<void>;
}
