import type { RouteChangedEvent, RouteKey } from '#shared/domain/route';

/**
 * Rows of the transactional outbox (`route_events`) claimed for publishing. The claim holds row locks
 * until `markPublished` or `release` ends it; exactly one of them must be called.
 */
export interface OutboxClaim {
  /** In publishing order: by route, oldest first; one route's events are never split across claims. */
  readonly events: readonly RouteChangedEvent[];
  /** Records the broker's acknowledgement (`published_at`) and releases the claim. */
  markPublished(): Promise<void>;
  /** Gives the rows back unpublished, noting the failure on them. */
  release(error: string): Promise<void>;
}

export interface OutboxBacklog {
  readonly count: number;
  /** Age of the oldest unpublished row; 0 when there is none. */
  readonly oldestAgeSeconds: number;
}

/**
 * The ordering rule lives in the adapter: a claim takes a route only through that route's oldest
 * unpublished row (its head), and then takes the route's later rows in order, so whoever publishes a
 * route publishes a prefix of its unpublished history and nobody else can publish that route meanwhile.
 */
export interface OutboxStore {
  /**
   * Claims up to `limit` unpublished events, oldest routes first; with `route`, only that route.
   * Null when nothing is claimable (nothing left, or another publisher holds those routes).
   */
  claim(options: { readonly limit: number; readonly route?: RouteKey }): Promise<OutboxClaim | null>;
  backlog(): Promise<OutboxBacklog>;
}
