import type { OutboxEvent } from '#shared/domain/outbox-event';

/**
 * Rows of the transactional outbox (`route_events`) claimed for publishing. The claim holds row locks
 * until `markPublished` or `release` ends it; exactly one of them must be called.
 */
export interface OutboxClaim {
  /** In publishing order: by route, oldest first; one route's events are never split across claims. */
  readonly events: readonly OutboxEvent[];
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
 * A write may instead lease its own event when it is the head (RouteWriteResult.publishLeased): claims
 * leave that route alone until the lease is ended here or runs out.
 */
export interface OutboxStore {
  /**
   * Claims up to `limit` unpublished events, oldest routes first. Null when nothing is claimable
   * (nothing left, or other publishers hold those routes).
   */
  claim(options: { readonly limit: number }): Promise<OutboxClaim | null>;
  /** Records the broker's acknowledgement of leased events and ends their leases. */
  markLeasedPublished(eventIds: readonly string[]): Promise<void>;
  /** Ends the leases of events their writer could not publish, noting why: a relay takes them next. */
  releaseLeases(eventIds: readonly string[], error: string): Promise<void>;
  backlog(): Promise<OutboxBacklog>;
}
