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

export type RouteAction = 'created' | 'updated' | 'activated' | 'deactivated';

/** The outbox row written in the same transaction as the change. */
export interface RouteChangedEvent extends RouteKey {
  readonly eventId: string;
  readonly eventType: 'route_changed';
  readonly action: RouteAction;
  readonly url: string;
  readonly previousUrl: string | null;
  readonly previousState: RouteState | null;
  readonly revision: number;
  readonly changedBy: string;
  readonly occurredAt: string;
  readonly correlationId: string | null;
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
}

export interface WriteContext {
  readonly changedBy: string;
  readonly correlationId: string | null;
  /** Lease the new event to this writer for publishing after commit; absent or 0 leaves it to the relay. */
  readonly publishLeaseMs?: number;
}

export const routeLabel = (k: RouteKey): string => `${k.tenant}/${k.service}/${k.env}/${k.version}`;
