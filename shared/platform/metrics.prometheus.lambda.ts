import type { AppMetrics } from '#shared/observability/metrics';

// The Lambda bundles alias the Prometheus metrics backend (shared/observability/metrics.prometheus.ts, and
// with it prom-client) to this module (infra/bundling.ts). Functions in Lambda report through CloudWatch
// EMF, and the configuration refuses METRICS_BACKEND=prometheus there (config.ts), so this never runs in a
// bundle. Bundled, the backend would cost every function ~45 KB (prom-client) plus its metric table; left
// external, esbuild would hoist it into a static import that fails the cold start. Should it ever run, it
// fails with the reason instead of a missing-module error.
export const prometheusMetrics = (): AppMetrics => {
  throw new Error(
    'METRICS_BACKEND=prometheus is not available in the Lambda bundles (they report through EMF): use emf or none',
  );
};
