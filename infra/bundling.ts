/**
 * What every Lambda bundle leaves out or swaps (infra/constructs/app-function.ts; bench/core.ts builds its
 * bundles with the same settings):
 * - the AWS SDK v3, which the runtime ships;
 * - optional native or peer modules of pg and mongodb that are never loaded;
 * - clients the deployed functions never select: prom-client (functions report through EMF, METRICS_BACKEND
 *   is `emf`) and @upstash/redis (the stacks deploy ElastiCache, CACHE_BACKEND is `redis`). The code imports
 *   both lazily, only when selected, so leaving them out cannot break a function that does not select them.
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
  'prom-client',
  '@upstash/redis',
];

/**
 * Module aliases, relative to the repository root (esbuild's working directory): `whatwg-url` becomes
 * Node's built-in URL (shared/platform/whatwg-url.node.ts).
 */
export const LAMBDA_MODULE_ALIASES: Record<string, string> = {
  'whatwg-url': './shared/platform/whatwg-url.node.ts',
};
