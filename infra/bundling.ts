/**
 * The AWS SDK v3 packages the bundles import and leave to the nodejs22.x runtime, which ships the SDK's
 * current packages (clients, credential providers, utilities). Named one by one rather than `@aws-sdk/*`:
 * a package the runtime does not ship (e.g. the long-retired @aws-sdk/util-utf8-browser, which
 * @aws-crypto still imports) must be bundled, or the cold start fails. The local cloud's runtime
 * (scripts/cloud/runtime/package.json) installs exactly these; test/infra/lambda-bundles.test.ts holds both
 * lists equal and loads every bundle with nothing else resolvable.
 */
export const RUNTIME_AWS_SDK_PACKAGES = [
  '@aws-sdk/client-dynamodb',
  '@aws-sdk/client-kafka',
  '@aws-sdk/client-secrets-manager',
  '@aws-sdk/client-sqs',
  '@aws-sdk/client-sts',
  '@aws-sdk/credential-providers',
  '@aws-sdk/lib-dynamodb',
  '@aws-sdk/types',
  '@aws-sdk/util-dynamodb',
  '@aws-sdk/util-format-url',
];

/**
 * What every Lambda bundle leaves out or swaps (infra/constructs/app-function.ts; bench/core.ts builds its
 * bundles with the same settings):
 * - the AWS SDK v3 packages the runtime ships (above);
 * - optional native or peer modules of pg and mongodb that are never loaded;
 *
 * Nothing a function can select may be external: esbuild hoists an external package that a lazily imported
 * module imports into a static import of the single-file ESM bundle, so the cold start would fail without it
 * (test/infra/lambda-bundles.test.ts loads every bundle where only the runtime's AWS SDK resolves).
 */
export const LAMBDA_EXTERNAL_MODULES = [
  ...RUNTIME_AWS_SDK_PACKAGES,
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
 * Node's built-in URL (shared/platform/whatwg-url.node.ts); the Prometheus metrics backend (the local
 * runner's, with prom-client) becomes a stub that names the EMF backend if selected
 * (shared/platform/metrics.prometheus.lambda.ts); the write path's after-commit publisher (the local
 * runner's EVENT_PUBLISHER=writer, with the Kafka producer) becomes a stub that names the relay
 * (shared/platform/after-commit-publisher.lambda.ts). An alias applies to a bare or `#` specifier only, so
 * shared/observability/metrics.ts imports the backend as `#shared/observability/metrics.prometheus`, and
 * shared/composition/write-publishing.ts the publisher as `#shared/composition/after-commit-publisher`.
 */
export const LAMBDA_MODULE_ALIASES: Record<string, string> = {
  'whatwg-url': './shared/platform/whatwg-url.node.ts',
  '#shared/observability/metrics.prometheus': './shared/platform/metrics.prometheus.lambda.ts',
  '#shared/composition/after-commit-publisher': './shared/platform/after-commit-publisher.lambda.ts',
};
