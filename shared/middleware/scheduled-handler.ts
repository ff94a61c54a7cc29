import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { logger, runWithCorrelationId } from '#shared/observability/logger';
import { appMetrics } from '#shared/observability/metrics';

/**
 * The one middy chain for EventBridge scheduled invocations: the event id is the correlation id of
 * every log line, failures are logged once and rethrown (EventBridge retries), metrics flushed at the end.
 */
export const scheduledHandler = <R>(
  name: string,
  fn: (event: ScheduledEvent, context: Context) => Promise<R>,
) => {
  const chain = middy<ScheduledEvent, R, Error, Context>()
    .use({
      onError: (request) => {
        logger.error(`${name} failed`, request.error as Error);
      },
    })
    .handler(fn);

  return async (event: ScheduledEvent, context: Context): Promise<R> => {
    try {
      return await runWithCorrelationId(event.id || context.awsRequestId, () => chain(event, context));
    } finally {
      appMetrics.flush();
    }
  };
};
