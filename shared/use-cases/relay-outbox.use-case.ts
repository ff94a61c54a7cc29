import type { OutboxBacklog } from '#shared/ports/outbox.port';
import { type PublishOutboxDeps, publishOutbox } from './publish-outbox.use-case.ts';

export interface RelayOutboxDeps extends PublishOutboxDeps {
  readonly batchSize: number;
  readonly pollIntervalMs: number;
  readonly now: () => number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly onBacklog?: (backlog: OutboxBacklog) => void;
  /** Report the backlog at most this often (a query per report); absent: after every poll. */
  readonly backlogEveryMs?: number;
  readonly onError?: (err: unknown) => void;
  /**
   * Told about a failed round: true if it repaired the cause (re-created a missing topic), so the relay
   * goes again at once instead of waiting for the next poll.
   */
  readonly repair?: (err: unknown) => Promise<boolean>;
}

export interface RelayRun {
  readonly published: number;
  readonly rounds: number;
  readonly failures: number;
}

/**
 * Publish whatever the write path left in the outbox, until `deadline` (epoch ms) or `signal`:
 * 1. claim-publish-mark rounds until nothing is claimable (several relays at once each take other routes);
 * 2. report the backlog (count, oldest age) left behind, at most every `backlogEveryMs`;
 * 3. wait `pollIntervalMs` and go again. A failing round (Kafka down) is reported and retried next poll;
 *    one whose cause `repair` fixes (the topic was gone and is back) is retried at once.
 */
export const relayOutbox = async (
  deps: RelayOutboxDeps,
  options: { readonly deadline: number; readonly signal?: AbortSignal },
): Promise<RelayRun> => {
  let published = 0;
  let rounds = 0;
  let failures = 0;
  // One immediate retry per repair: a repair that does not help must not turn the loop into a spin.
  let justRepaired = false;
  let backlogAt = Number.NEGATIVE_INFINITY;
  const active = () => deps.now() < options.deadline && !options.signal?.aborted;
  while (active()) {
    try {
      for (;;) {
        const round = await publishOutbox(deps, { limit: deps.batchSize });
        rounds++;
        published += round.published;
        if (round.claimed === 0 || !active()) break;
      }
    } catch (err) {
      failures++;
      deps.onError?.(err);
      if (!justRepaired && (await repaired(deps, err))) {
        justRepaired = true;
        continue;
      }
    }
    if (deps.onBacklog && deps.now() - backlogAt >= (deps.backlogEveryMs ?? 0)) {
      backlogAt = deps.now();
      try {
        deps.onBacklog(await deps.outbox.backlog());
      } catch (err) {
        deps.onError?.(err);
      }
    }
    const wait = Math.min(deps.pollIntervalMs, options.deadline - deps.now());
    if (wait > 0 && active()) await deps.sleep(wait, options.signal);
    justRepaired = false;
  }
  return { published, rounds, failures };
};

/**
 * A run in which no round succeeded: the relay could not reach Postgres or Kafka for its whole run. Its
 * invocation then fails, so the function's error rate (and a deploy's rollback alarm) shows it; one
 * failed round among good ones is not a stall.
 */
export const relayStalled = (run: RelayRun): boolean => run.failures > 0 && run.rounds === 0;

const repaired = async (deps: RelayOutboxDeps, err: unknown): Promise<boolean> => {
  if (!deps.repair) return false;
  try {
    return await deps.repair(err);
  } catch (repairErr) {
    deps.onError?.(repairErr);
    return false;
  }
};
