import { getRelayDeps } from '#shared/composition/publish-clients';
import { getConfig, requireBindings } from '#shared/config/config';
import { RELAY_RUN } from '#shared/config/relay-run';
import { scheduledHandler } from '#shared/middleware/scheduled-handler';
import { logger } from '#shared/observability/logger';
import { relayOutbox, relayStalled } from '#shared/use-cases/relay-outbox.use-case';
import { functionManifest } from '../function-manifest.ts';

requireBindings(functionManifest.outboxRelay);

const deps = getRelayDeps();
const { relay } = getConfig();

/**
 * EventBridge, every minute: poll the outbox every RELAY_POLL_INTERVAL_MS for up to RELAY_MAX_RUN_MS
 * (RELAY_RUN.runMs in the stacks), so runs overlap and the outbox is always watched; stop
 * RELAY_RUN.safetyMarginMs before the timeout, leaving time to finish a round and flush metrics.
 */
export const handler = scheduledHandler('outbox relay', async (_event, context) => {
  const deadline =
    Date.now() + Math.min(relay.maxRunMs, context.getRemainingTimeInMillis() - RELAY_RUN.safetyMarginMs);
  const run = await relayOutbox(deps, { deadline });
  logger.info('outbox relay run finished', { ...run });
  if (relayStalled(run))
    throw new Error(`the outbox relay stalled: all ${run.failures} rounds of its run failed`);
  return run;
});
