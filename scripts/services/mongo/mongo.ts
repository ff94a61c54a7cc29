/**
 * The Mongo-wire server: de.bwaldvogel:mongo-java-server from Maven Central, started by
 * java/MongoLauncher.java. With a data file it uses the H2 (MVStore) backend and commits after every
 * command, so the data survives a restart and even a SIGKILL; without one it is in memory.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { MongoClient } from 'mongodb';
import { COMMON_JVM_FLAGS, fetchService, HEAP, spawnJvm } from '../jvm.ts';
import { DEFAULT_PORTS, HOST, LOGS_DIR, libDir, serviceDir } from '../layout.ts';
import {
  assertPortFree,
  endpointOpen,
  makeHandle,
  type OnSpawn,
  type ServiceHandle,
  waitUntilReady,
} from '../process.ts';

export interface StartMongoOptions {
  /** Default 27027. */
  port?: number;
  /**
   * The H2 (MVStore) file that keeps the data: starting again on it resumes the data. In memory if
   * omitted (private test instances).
   */
  dataFile?: string;
  /** Default `.local/logs/mongo-<port>.log` (appended to). */
  logFile?: string;
  /** Default 30 s. */
  startTimeoutMs?: number;
}

const MONGO_MAIN = 'MongoLauncher';

export async function mongoAnswers(url: string, timeoutMs = 3000): Promise<boolean> {
  if (!(await endpointOpen(url))) return false;
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    socketTimeoutMS: timeoutMs,
    monitorCommands: false,
  });
  try {
    await client.connect();
    const reply = await client.db('admin').command({ ping: 1 });
    return reply.ok === 1;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** Starts a private Mongo-wire server owned by this process: in memory, or on `dataFile` if given. */
export function startMongo(opts: StartMongoOptions = {}): Promise<ServiceHandle> {
  return startMongoInternal(opts, false);
}

export async function startMongoInternal(
  opts: StartMongoOptions,
  detached: boolean,
  onSpawn?: OnSpawn,
): Promise<ServiceHandle> {
  const port = opts.port ?? DEFAULT_PORTS.mongo;
  const logFile = opts.logFile ?? join(LOGS_DIR, `mongo-${port}.log`);
  await fetchService('mongo');
  await assertPortFree('mongo', port);
  const dir = serviceDir('mongo');
  const dataFile = opts.dataFile ? resolve(opts.dataFile) : undefined;
  if (dataFile) await mkdir(dirname(dataFile), { recursive: true });
  const jvm = await spawnJvm(
    {
      service: 'mongo',
      jvmArgs: [
        ...HEAP.mongo,
        ...COMMON_JVM_FLAGS,
        '-Dorg.slf4j.simpleLogger.showDateTime=true',
        `-Dservices.name=mongo-${port}`,
      ],
      classpath: [`${libDir('mongo')}/*`],
      mainClass: MONGO_MAIN,
      mainArgs: ['--host', HOST, '--port', String(port), ...(dataFile ? ['--data-file', dataFile] : [])],
    },
    { logFile, detached, cwd: dir },
  );
  await onSpawn?.(jvm.pid);
  const url = `mongodb://${HOST}:${port}`;
  try {
    await waitUntilReady('mongo', jvm, () => mongoAnswers(url), opts.startTimeoutMs ?? 30_000);
  } catch (e) {
    await jvm.exited;
    throw e;
  }
  return makeHandle('mongo', url, port, jvm);
}
