/** Identity of a route: the four names a caller resolves by. */
export interface RouteKey {
  readonly tenant: string;
  readonly service: string;
  readonly env: string;
  readonly version: string;
}

export type RouteState = 'active' | 'inactive';

/** A route as stored in Postgres, the source of truth. */
export interface RouteRecord extends RouteKey {
  readonly url: string;
  readonly isActive: boolean;
  /** Increases by one on every change; a route that does not exist has revision 0. */
  readonly revision: number;
}

/** A route with who made and last changed it (GET /api/v1/routes/detail). */
export interface RouteDetail extends RouteRecord {
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly createdBy: string;
  readonly updatedBy: string;
}

/** One page of a tenant's routes, in (service, env, version) order, after `after` when given. */
export interface RouteListQuery {
  readonly tenant: string;
  readonly service?: string;
  readonly env?: string;
  readonly active?: boolean;
  readonly limit: number;
  readonly after?: RouteListCursor;
}

export interface RouteListCursor {
  readonly service: string;
  readonly env: string;
  readonly version: string;
}

export const ROUTE_ACTIONS = ['created', 'updated', 'activated', 'deactivated', 'rolled_back'] as const;
export type RouteAction = (typeof ROUTE_ACTIONS)[number];

/** The outbox row written in the same transaction as the change. */
export interface RouteChangedEvent extends RouteKey {
  readonly eventId: string;
  readonly eventType: 'route_changed';
  readonly action: RouteAction;
  readonly url: string;
  readonly previousUrl: string | null;
  readonly previousState: RouteState | null;
  readonly revision: number;
  /** `rolled_back` only: the revision whose URL and state the change restored. */
  readonly restoredRevision?: number | null;
  readonly changedBy: string;
  /** The acting token's id; null with auth off (and absent from events written before it existed). */
  readonly changedByTokenId?: string | null;
  readonly occurredAt: string;
  readonly correlationId: string | null;
  /** Set on every event of one POST /api/v1/routes/batch (the same id); absent for single writes. */
  readonly batchId?: string | null;
}

export type WriteOutcome = RouteAction | 'unchanged';

export interface RouteWriteResult {
  readonly outcome: WriteOutcome;
  readonly route: RouteRecord;
  /** Null when nothing changed (no event is written for a no-op). */
  readonly event: RouteChangedEvent | null;
  /**
   * The writer holds the lease to publish `event` (it was its route's oldest unpublished event): it
   * publishes it after commit. Otherwise the relay will, after the route's older events.
   */
  readonly publishLeased: boolean;
  /**
   * The cache revision the change gave the split of its (tenant, service, env), when it moved a URL the
   * split's cached entry carries (`updated` or `rolled_back` of a version the split names); absent
   * otherwise. The writer tombstones the split's entry at it, as it does the route's at `route.revision`.
   */
  readonly splitCacheRevision?: number;
}

/**
 * A write's precondition (`If-Match` / `If-None-Match: *`), checked under the route's row lock in the
 * same transaction as the write, so no other write can slip in between the check and the change.
 */
export type WritePrecondition =
  /** The route exists and its revision is one of these (`If-Match: "3", "4"`); none: nothing matches. */
  | { readonly kind: 'revision'; readonly revisions: readonly number[] }
  /** The route exists (`If-Match: *`). */
  | { readonly kind: 'exists' }
  /** The route does not exist (`If-None-Match: *` on a create). */
  | { readonly kind: 'absent' };

export interface WriteContext {
  readonly changedBy: string;
  /** The acting token's id beside its principal's name; null/absent with auth off. */
  readonly changedByTokenId?: string | null;
  readonly correlationId: string | null;
  /** Lease the new event to this writer for publishing after commit; absent or 0 leaves it to the relay. */
  readonly publishLeaseMs?: number;
  /** Absent: the write is unconditional (the seed's behaviour). */
  readonly precondition?: WritePrecondition;
}

export const routeLabel = (k: RouteKey): string => `${k.tenant}/${k.service}/${k.env}/${k.version}`;
