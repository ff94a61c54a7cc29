import { getAfterCommitPublisher } from '#shared/composition/after-commit-publisher';
import { getConfig } from '#shared/config/config';

export type WritePublishing = Partial<ReturnType<typeof getAfterCommitPublisher>>;

/**
 * What a write function does with its events after commit: publish them (EVENT_PUBLISHER=writer, the local
 * runner) or nothing, the relay publishing them (`relay`, always in Lambda). Imported by a `#` specifier:
 * the Lambda bundles alias the publisher to a stub (infra/bundling.ts), so neither the Kafka producer nor
 * its binding is part of a write function.
 */
export const getWritePublishing = (): WritePublishing =>
  getConfig().kafka.eventPublisher === 'writer' ? getAfterCommitPublisher() : {};
