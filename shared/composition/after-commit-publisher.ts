import { ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import { getConfig } from '#shared/config/config';
import { logger } from '#shared/observability/logger';
import {
  type CommittedWrite,
  type PublishAfterCommitDeps,
  publishAfterCommit,
  publishAllAfterCommit,
} from '#shared/use-cases/publish-outbox.use-case';
import { publishDeps } from './publish-clients.ts';

/**
 * The write path's after-commit hook and the publish lease it needs (publish-outbox.use-case.ts), for
 * EVENT_PUBLISHER=writer (the local runner; Lambda leaves events to the relay). The hook is awaited before
 * the response unless PUBLISH_BEFORE_ANSWER=false, bounded by PUBLISH_TIMEOUT_MS. While Kafka fails, a circuit breaker skips the attempt altogether (writes pay one UPDATE to hand
 * the event to the relay). The lease outlasts the publish timeout and the acknowledging UPDATE; it only
 * matters when a writer dies mid-publish, as the time a relay waits before taking over.
 */
export const getAfterCommitPublisher = (): {
  readonly afterCommit: (result: CommittedWrite) => Promise<void>;
  /** A bulk change's leased events, in one publish (issue 15). */
  readonly afterCommitAll: (results: readonly CommittedWrite[]) => Promise<void>;
  readonly publishLeaseMs: number;
} => {
  const { kafka, database } = getConfig();
  const breaker = circuitBreaker(handleAll, { halfOpenAfter: 2000, breaker: new ConsecutiveBreaker(3) });
  const deps: PublishAfterCommitDeps = {
    ...publishDeps(),
    guard: (fn) => breaker.execute(() => fn()),
    onSkipped: (reason) => logger.debug('after-commit publish skipped; the relay will publish', { reason }),
  };
  return {
    afterCommit: (result) => publishAfterCommit(deps, result),
    afterCommitAll: (results) => publishAllAfterCommit(deps, results),
    publishLeaseMs: kafka.publishTimeoutMs + database.queryTimeoutMs + 1000,
  };
};
