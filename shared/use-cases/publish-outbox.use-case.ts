import { DependencyUnavailableError } from '#shared/domain/errors';
import type { RouteChangedEvent, RouteKey, RouteWriteResult } from '#shared/domain/route';
import type { EventPublisher } from '#shared/ports/event-publisher.port';
import type { OutboxStore } from '#shared/ports/outbox.port';

export interface PublishOutboxDeps {
  readonly outbox: OutboxStore;
  readonly publisher: EventPublisher;
  /** Longest a claim waits for the broker's acknowledgement before giving its rows back. */
  readonly publishTimeoutMs: number;
  readonly onPublished?: (events: readonly RouteChangedEvent[]) => void;
  readonly onPublishFailed?: (count: number, err: unknown) => void;
}

export interface PublishRound {
  readonly claimed: number;
  readonly published: number;
}

const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new DependencyUnavailableError('kafka', `no acknowledgement within ${ms} ms`)),
      ms,
    );
    p.then(resolve, reject).finally(() => clearTimeout(timer));
  });

/**
 * One publishing round over the outbox:
 * 1. claim unpublished rows (the store's ordering rule: whole route prefixes, oldest first);
 * 2. publish them, waiting at most `publishTimeoutMs` for acks=all;
 * 3. acknowledged → mark them published; otherwise give them back unpublished (noting the error)
 *    and throw `DependencyUnavailableError('kafka')`.
 * A publish that times out may still land later; the relay then sends it again, which consumers
 * absorb (at-least-once, idempotent, revision-guarded).
 */
export const publishOutbox = async (
  deps: PublishOutboxDeps,
  options: { readonly limit: number; readonly route?: RouteKey },
): Promise<PublishRound> => {
  const claim = await deps.outbox.claim(options);
  if (!claim) return { claimed: 0, published: 0 };
  const count = claim.events.length;
  try {
    await withTimeout(deps.publisher.publish(claim.events), deps.publishTimeoutMs);
  } catch (err) {
    await claim.release(err instanceof Error ? err.message : String(err)).catch(() => {});
    deps.onPublishFailed?.(count, err);
    if (err instanceof DependencyUnavailableError) throw err;
    throw new DependencyUnavailableError('kafka', 'publishing failed', { cause: err });
  }
  await claim.markPublished();
  deps.onPublished?.(claim.events);
  return { claimed: count, published: count };
};

export interface PublishAfterCommitDeps extends PublishOutboxDeps {
  /** Limits how many after-commit publishes run at once and stops trying while Kafka is down. */
  readonly guard: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Told when the publish did not happen; the relay publishes those rows later. */
  readonly onSkipped?: (reason: unknown) => void;
}

/** Rows one after-commit publish may take: its route's backlog, which is normally just this event. */
const AFTER_COMMIT_LIMIT = 100;

/**
 * After a write commits, publish that route's outbox rows at once (normally just the new event), so
 * consumers see it within milliseconds instead of at the relay's next poll. Never throws and never takes
 * longer than the publish timeout: a slow or absent Kafka, an open circuit or a full bulkhead all mean
 * "leave it to the relay" (the rows are already in the outbox, committed with the change).
 */
export const publishAfterCommit = async (
  deps: PublishAfterCommitDeps,
  result: RouteWriteResult,
): Promise<void> => {
  if (!result.event) return;
  try {
    await deps.guard(() => publishOutbox(deps, { limit: AFTER_COMMIT_LIMIT, route: result.route }));
  } catch (err) {
    deps.onSkipped?.(err);
  }
};
