// The Lambda bundles alias `prom-client` to this module (infra/bundling.ts). Functions in Lambda report
// through CloudWatch EMF, and the configuration refuses METRICS_BACKEND=prometheus there (config.ts), so
// this branch never runs in a bundle. Bundled, the real client would cost every function ~40 KB for it;
// left external, esbuild would hoist it into a static import that fails the cold start. Should the branch
// ever run, it fails with the reason instead of a missing-module error.
const unavailable = (): never => {
  throw new Error(
    'METRICS_BACKEND=prometheus is not available in the Lambda bundles (they report through EMF): use emf or none',
  );
};

export default new Proxy({}, { get: unavailable });
