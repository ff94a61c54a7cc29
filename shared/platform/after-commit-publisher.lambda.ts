import type { getAfterCommitPublisher as real } from '#shared/composition/after-commit-publisher';

// The Lambda bundles alias the write path's after-commit publisher (shared/composition/after-commit-
// publisher.ts, and with it the Kafka producer) to this module (infra/bundling.ts). In Lambda the outbox
// relay alone publishes and the configuration refuses EVENT_PUBLISHER=writer (config.ts), so this never
// runs in a bundle; left in, the producer would cost each write function ~30 KB and its bindings a Kafka
// producer it never uses. Should it ever run, it fails with the reason instead of a missing-module error.
export const getAfterCommitPublisher: typeof real = () => {
  throw new Error(
    'EVENT_PUBLISHER=writer is not available in the Lambda bundles (the outbox relay publishes): use relay',
  );
};
