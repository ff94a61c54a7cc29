import { Tracer } from '@aws-lambda-powertools/tracer';
import { getConfig } from '#shared/config/config';

/**
 * X-Ray tracer (Powertools). It switches itself off outside Lambda, so the local runner and tests pay
 * nothing; in AWS the function's active tracing delivers the segments.
 */
export const tracer = new Tracer({ serviceName: getConfig().serviceName, captureHTTPsRequests: false });

/** An indexed annotation on the current segment (searchable in X-Ray), e.g. the resolve cache outcome. */
export const annotate = (key: string, value: string | number | boolean): void => {
  if (tracer.isTracingEnabled()) tracer.putAnnotation(key, value);
};
