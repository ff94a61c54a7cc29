import type { MiddlewareObj } from '@middy/core';
import { getConfig } from '#shared/config/config';

/** X-Ray tracing as the HTTP chain sees it: a middy middleware (or none) and indexed annotations. */
export interface Tracing {
  readonly middleware: MiddlewareObj | null;
  annotate(key: string, value: string | number | boolean): void;
}

const off: Tracing = { middleware: null, annotate: () => {} };

// Powertools Tracer sits on aws-xray-sdk-core, whose cls-hooked installs an async hook with a destroy
// callback at import: every promise in the process is then tracked, which halved the local runner's
// throughput and cost a write function about 1 ms of CPU per invoke. So it is imported only with
// TRACING=xray, which the stacks set only when a deploy asks (-c tracingSdk=true); Lambda's active tracing
// records each invocation without it.
const xray = async (serviceName: string): Promise<Tracing> => {
  const [{ Tracer }, { captureLambdaHandler }] = await Promise.all([
    import('@aws-lambda-powertools/tracer'),
    import('@aws-lambda-powertools/tracer/middleware'),
  ]);
  const tracer = new Tracer({ serviceName, captureHTTPsRequests: false });
  return {
    middleware: captureLambdaHandler(tracer, { captureResponse: false }),
    annotate: (key, value) => {
      if (tracer.isTracingEnabled()) tracer.putAnnotation(key, value);
    },
  };
};

const { tracing: mode, serviceName } = getConfig();
export const tracing: Tracing = mode === 'xray' ? await xray(serviceName) : off;

/** An indexed annotation on the current segment (searchable in X-Ray), e.g. the resolve cache outcome. */
export const annotate = (key: string, value: string | number | boolean): void => tracing.annotate(key, value);
