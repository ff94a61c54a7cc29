import { getRelayDeps } from '#shared/composition/publish-clients';
import { relayOutbox } from '#shared/use-cases/relay-outbox.use-case';

export interface OutboxRelayLoop {
  stop(): Promise<void>;
}

/**
 * The outbox relay inside the local runner: the same use case and composition as the scheduled Lambda
 * (functions/relay/outbox-relay.handler.ts), polling continuously instead of one ~50 s run per minute.
 */
export const startOutboxRelayLoop = (): OutboxRelayLoop => {
  const deps = getRelayDeps();
  const controller = new AbortController();
  const running = (async () => {
    while (!controller.signal.aborted) {
      await relayOutbox(deps, { deadline: Date.now() + 60_000, signal: controller.signal });
    }
  })();
  return {
    async stop() {
      controller.abort();
      await running;
    },
  };
};
