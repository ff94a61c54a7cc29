/**
 * What every Lambda bundle leaves out or swaps (infra/constructs/app-function.ts; bench/core.ts builds its
 * bundles with the same settings):
 * - the AWS SDK v3, which the runtime ships;
 * - optional native or peer modules of pg and mongodb that are never loaded;
 *
 * Nothing a function can select may be external: esbuild hoists an external package that a lazily imported
 * module imports into a static import of the single-file ESM bundle, so the cold start would fail without it
 * (test/infra/lambda-bundles.test.ts loads every bundle where only the runtime's AWS SDK resolves).
 */
export const LAMBDA_EXTERNAL_MODULES = [
  '@aws-sdk/*',
  'pg-native',
  'kerberos',
  '@mongodb-js/zstd',
  'snappy',
  'mongodb-client-encryption',
  'gcp-metadata',
  'socks',
  'aws4',
];

/**
 * Module aliases, relative to the repository root (esbuild's working directory): `whatwg-url` becomes
 * Node's built-in URL (shared/platform/whatwg-url.node.ts); `prom-client`, the local runner's metrics
 * backend, becomes a stub that names the EMF backend if selected (shared/platform/prom-client.lambda.ts).
 */
export const LAMBDA_MODULE_ALIASES: Record<string, string> = {
  'whatwg-url': './shared/platform/whatwg-url.node.ts',
  'prom-client': './shared/platform/prom-client.lambda.ts',
};
