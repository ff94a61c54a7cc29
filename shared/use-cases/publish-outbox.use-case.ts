import { DependencyUnavailableError } from '#shared/domain/errors';
import type { OutboxEvent } from '#shared/domain/outbox-event';
import type { EventPublisher } from '#shared/ports/event-publisher.port';
import type { OutboxStore } from '#shared/ports/outbox.port';

export interface PublishOutboxDeps {
  readonly outbox: OutboxStore;
  readonly publisher: EventPublisher;
  /** Longest a claim waits for the broker's acknowledgement before giving its rows back. */
  readonly publishTimeoutMs: number;
  readonly onPublished?: (events: readonly OutboxEvent[]) => void;
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
  options: { readonly limit: number },
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

/** What a committed write (route or split) hands the after-commit publisher. */
export interface CommittedWrite {
  readonly event: OutboxEvent | null;
  readonly publishLeased: boolean;
}

export interface PublishAfterCommitDeps extends PublishOutboxDeps {
  /** Stops trying while Kafka is down (an open circuit refuses at once). */
  readonly guard: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Told when the publish did not happen; the relay publishes the event later. */
  readonly onSkipped?: (reason: unknown) => void;
}

/**
 * After a write commits, publish its event at once, so consumers see it within milliseconds instead of
 * at the relay's next poll. Only a leased event (the write's event was its route's oldest unpublished
 * one: see outbox-store.pg.ts) is published here; any other is the relay's, behind the route's older
 * events. No transaction is held meanwhile: after the broker's acknowledgement the event is marked
 * published (one UPDATE shared by concurrent writers).
 *
 * Never throws and never waits longer than the publish timeout: a slow or absent Kafka or an open
 * circuit end the lease instead, so a relay takes the event next (it is in the outbox already,
 * committed with the change). Should even that fail, the lease runs out and a relay takes it then.
 */
export const publishAfterCommit = (deps: PublishAfterCommitDeps, result: CommittedWrite): Promise<void> =>
  publishAllAfterCommit(deps, [result]);

/**
 * `publishAfterCommit` for the changes of one bulk change (issue 15): their leased events go out in one
 * publish call, in the batch's order, and are acknowledged with one UPDATE; the same bounds and fallbacks.
 */
export const publishAllAfterCommit = async (
  deps: PublishAfterCommitDeps,
  results: readonly CommittedWrite[],
): Promise<void> => {
  const events = results.flatMap((r) => (r.event && r.publishLeased ? [r.event] : []));
  if (events.length === 0) return;
  const ids = events.map((e) => e.eventId);
  try {
    await deps.guard(async () => {
      try {
        await withTimeout(deps.publisher.publish(events), deps.publishTimeoutMs);
      } catch (err) {
        deps.onPublishFailed?.(events.length, err); // counted and logged; an open circuit (no attempt) is not
        throw err;
      }
    });
  } catch (err) {
    deps.onSkipped?.(err);
    await deps.outbox.releaseLeases(ids, err instanceof Error ? err.message : String(err)).catch(() => {});
    return;
  }
  deps.onPublished?.(events);
  // Acknowledged: a failure to record it only means a relay publishes it again once the lease runs out
  // (consumers are idempotent).
  await deps.outbox.markLeasedPublished(ids).catch((err) => deps.onSkipped?.(err));
};
