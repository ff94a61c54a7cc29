/**
 * The DynamoDB-compatible server: dynalite (npm, DynamoDB's HTTP API on LevelDB), run by plain `node`
 * (dynalite-server.mjs). With a data directory the tables survive restarts; without one, in memory.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DEFAULT_PORTS, HOST, LOGS_DIR, REPO_ROOT, SCRIPTS_DIR } from '../layout.ts';
import {
  assertPortFree,
  endpointOpen,
  makeHandle,
  type OnSpawn,
  type ServiceHandle,
  spawnService,
  waitUntilReady,
} from '../process.ts';

export interface StartDynamoOptions {
  /** Default 18000. */
  port?: number;
  /** LevelDB directory, kept: starting again on it resumes the data. In memory if omitted. */
  dataDir?: string;
  /** Default `.local/logs/dynamodb-<port>.log` (appended to). */
  logFile?: string;
  /** Default 30 s. */
  startTimeoutMs?: number;
}

export const DYNALITE_SERVER = join(SCRIPTS_DIR, 'dynamodb', 'dynalite-server.mjs');

export async function dynamoAnswers(endpoint: string, timeoutMs = 3000): Promise<boolean> {
  if (!(await endpointOpen(endpoint))) return false;
  const client = new DynamoDBClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs },
  });
  try {
    await client.send(new ListTablesCommand({ Limit: 1 }));
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}

/** Starts a private dynalite owned by this process: in memory, or on `dataDir` if given. */
export function startDynamo(opts: StartDynamoOptions = {}): Promise<ServiceHandle> {
  return startDynamoInternal(opts, false);
}

export async function startDynamoInternal(
  opts: StartDynamoOptions,
  detached: boolean,
  onSpawn?: OnSpawn,
): Promise<ServiceHandle> {
  const port = opts.port ?? DEFAULT_PORTS.dynamodb;
  const logFile = opts.logFile ?? join(LOGS_DIR, `dynamodb-${port}.log`);
  await assertPortFree('dynamodb', port);
  const dataDir = opts.dataDir ? resolve(opts.dataDir) : undefined;
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const server = await spawnService(
    process.execPath,
    [
      DYNALITE_SERVER,
      '--host',
      HOST,
      '--port',
      String(port),
      ...(dataDir ? ['--path', dataDir] : []),
      ...(detached ? [] : ['--exit-with-stdin']),
    ],
    { logFile, detached, cwd: REPO_ROOT },
  );
  await onSpawn?.(server.pid);
  const url = `http://${HOST}:${port}`;
  try {
    await waitUntilReady('dynamodb', server, () => dynamoAnswers(url), opts.startTimeoutMs ?? 30_000);
  } catch (e) {
    await server.exited;
    throw e;
  }
  return makeHandle('dynamodb', url, port, server);
}
