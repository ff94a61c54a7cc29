import { getRelayDeps } from '#shared/composition/publish-clients';
import { getConfig, requireBindings } from '#shared/config/config';
import { scheduledHandler } from '#shared/middleware/scheduled-handler';
import { logger } from '#shared/observability/logger';
import { relayOutbox } from '#shared/use-cases/relay-outbox.use-case';
import { functionManifest } from '../function-manifest.ts';

requireBindings(functionManifest.outboxRelay);

const deps = getRelayDeps();
const { relay } = getConfig();
/** Stop polling this long before the Lambda timeout, leaving time to finish a round and flush metrics. */
const SAFETY_MARGIN_MS = 5000;

/**
 * EventBridge, every minute: poll the outbox every RELAY_POLL_INTERVAL_MS for up to RELAY_MAX_RUN_MS
 * (70 s, infra/stacks/stateless.stack.ts RELAY_RUN), so consecutive runs overlap and the outbox is always
 * watched. Overlapping invocations are safe: the outbox claim skips routes another relay holds.
 */
export const handler = scheduledHandler('outbox relay', async (_event, context) => {
  const deadline =
    Date.now() + Math.min(relay.maxRunMs, context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS);
  const run = await relayOutbox(deps, { deadline });
  logger.info('outbox relay run finished', { ...run });
  return run;
});
