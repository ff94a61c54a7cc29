// The Lambda bundles alias `prom-client` to this module (infra/bundling.ts). Functions in Lambda report
// through CloudWatch EMF; Prometheus is the local sources runner's backend. Bundled, the real client would
// cost every function ~40 KB for a branch it never takes; left external, esbuild would hoist it into a
// static import that fails the cold start. Selected in a bundle by mistake, this fails with the reason.
const unavailable = (): never => {
  throw new Error(
    'METRICS_BACKEND=prometheus is not available in the Lambda bundles (they report through EMF): use emf or none',
  );
};

export default new Proxy({}, { get: unavailable });
