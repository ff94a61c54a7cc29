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
// throughput. So the tracer is imported only where traces are delivered (TRACING=xray, set by the CDK
// stack on functions with active tracing); elsewhere nothing of it is loaded.
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
