import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TestProject } from 'vitest/node';
import { ensureIdempotencyTable } from '#shared/adapters/idempotency/idempotency-table';
import { ensureDatabase, migrateUp } from '#shared/adapters/postgres/migrate';

const ensureTestIdempotencyTable = async (endpoint: string): Promise<void> => {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureIdempotencyTable(client, 'traffic-manager-idempotency');
  client.destroy();
};

declare module 'vitest' {
  export interface ProvidedContext {
    /** Kafka bootstrap brokers (`host:port,…`) and the Mongo-wire URL every test file may use. */
    kafkaBrokers: string;
    mongoUrl: string;
  }
}

/** A run that only names unit or infra tests needs no Kafka or Mongo (a cold machine would fetch them). */
const offlineOnly = (): boolean => {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('-') && a !== 'run' && a !== 'watch');
  return args.length > 0 && args.every((a) => /^(\.\/)?test\/(unit|infra)\b/.test(a));
};

/** Runs once before all test files: the test database exists and is migrated. */
export default async function setup(project: TestProject): Promise<() => void> {
  // One directory for this run's CDK synthesis (test/support/cdk-outdir.ts), removed at the end.
  const cdkRoot = mkdtempSync(join(tmpdir(), 'tm-test-cdk-'));
  process.env.TEST_CDK_OUTDIR_ROOT = cdkRoot;
  const teardown = () => rmSync(cdkRoot, { recursive: true, force: true });
  const url = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/traffic_manager_test';
  await ensureDatabase(url);
  await migrateUp(url);

  // ---- events (issue 3): the shared Kafka and Mongo-wire server (KAFKA_BROKERS / MONGO_URL, else the
  // default ports, else started detached), and the default topic the write path publishes to.
  if (offlineOnly()) {
    project.provide('kafkaBrokers', '');
    project.provide('mongoUrl', '');
    return teardown;
  }
  const { ensureServices } = await import('../../scripts/services/services.ts');
  const { kafkaBrokers, mongoUrl, dynamoEndpoint } = await ensureServices();
  // Handler modules read their configuration from the environment at import, as in Lambda; test
  // workers inherit this process's environment.
  process.env.DYNAMODB_ENDPOINT = dynamoEndpoint;
  await ensureTestIdempotencyTable(dynamoEndpoint);
  project.provide('kafkaBrokers', kafkaBrokers);
  project.provide('mongoUrl', mongoUrl);
  // The write handlers publish after commit: to this broker, topic route-events, unless a file says otherwise.
  process.env.KAFKA_BROKERS ??= kafkaBrokers;
  process.env.MONGO_URL ??= mongoUrl;
  const { ensureTestTopic } = await import('./kafka.ts');
  await ensureTestTopic(kafkaBrokers, 'route-events', 6);
  if (needsLocalCloud()) await prepareLocalCloud();
  return teardown;
}

/** Runs that name only files which start no local cloud skip its synthesis and runtime install. */
const needsLocalCloud = (): boolean => {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('-') && a !== 'run' && a !== 'watch');
  return (
    args.length === 0 || args.some((a) => /^(\.\/)?test(\/(e2e|integration)(\/cloud)?)?\/?$|cloud/.test(a))
  );
};

/**
 * The local cloud's synthesized `local` stage (with bundling) and the Lambda runtime (Node 22, the RIC, the
 * runtime's AWS SDK), once before the test files that start clouds in parallel: both are cached on disk.
 */
const prepareLocalCloud = async (): Promise<void> => {
  const { synthesize } = await import('../../scripts/cloud/assembly.ts');
  const { ensureLambdaRuntime } = await import('../../scripts/cloud/lambda-runtime.ts');
  const root = new URL('../..', import.meta.url).pathname;
  const log = (line: string) => console.log(`[global-setup] ${line}`);
  await Promise.all([synthesize(root, 'local', log), ensureLambdaRuntime()]);
};
