/**
 * Local Kafka, Mongo-wire and DynamoDB services without Docker.
 *
 * Kafka and Mongo are JVM programs fetched from Maven Central with `mvn` (poms in
 * scripts/services/<name>/pom.xml) into `.local/services/<name>/`, then started with `java`; DynamoDB is
 * the npm package dynalite, run by `node` (dynamodb/dynalite-server.mjs):
 *
 * - kafka:    Apache Kafka (org.apache.kafka:kafka_2.13), one KRaft node acting as broker and controller.
 * - mongo:    de.bwaldvogel:mongo-java-server with its in-memory backend, started by java/MongoLauncher.java.
 * - dynamodb: dynalite (DynamoDB's API on LevelDB). The shared instance keeps its data in
 *             `.local/services/dynamodb/data`, so idempotency records survive a restart.
 *
 * `startKafka` / `startMongo` / `startDynamo` start a private instance owned by the calling process (fault
 * injection tests: own ports, own data dir, `kill()` it without touching anything else). Such instances are
 * SIGKILLed when the calling process exits, and exit by themselves if it dies without running exit
 * handlers (java/ParentWatchdog.java, and dynalite-server.mjs itself, watch a stdin pipe).
 *
 * `ensureServices` gives the shared default instances (env var, else whatever already answers on the default
 * port, else a detached start recorded in `.local/run/<name>.pid`); `stopServices` stops only those detached
 * instances.
 *
 * This is tooling, not application code: reading process.env is fine here.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import {
  access,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { createConnection, Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';

// ---------------------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------------------

export type ServiceName = 'kafka' | 'mongo' | 'dynamodb';
/** The services fetched with mvn and run on a JVM. */
type JvmServiceName = Exclude<ServiceName, 'dynamodb'>;

export interface ServiceHandle {
  name: string;
  /** `127.0.0.1:<port>` for Kafka, `mongodb://127.0.0.1:<port>` for Mongo, `http://127.0.0.1:<port>` for DynamoDB. */
  url: string;
  port: number;
  pid: number;
  /** The service process's stdout/stderr. */
  logFile: string;
  /** SIGTERM, wait for the exit; SIGKILL if it has not exited after a deadline. */
  stop(): Promise<void>;
  /** SIGKILL, wait for the exit. */
  kill(): Promise<void>;
}

export interface KafkaHandle extends ServiceHandle {
  controllerPort: number;
  /** Holds server.properties and the KRaft log dir. Restart on the same dataDir to keep the data. */
  dataDir: string;
}

export interface StartKafkaOptions {
  /** Broker (PLAINTEXT) port. Default 19092. */
  port?: number;
  /** KRaft controller port. Default 19093, or port + 1 when only `port` is given. */
  controllerPort?: number;
  /**
   * Data directory (config + KRaft logs). Kept as is if given: starting again on the same dir resumes the
   * data (restart after kill). If omitted, a fresh directory under .local/tmp/ is created and removed by
   * stop()/kill().
   *
   * Restarting after kill() waits for the controller to expire the dead incarnation's session
   * (broker.session.timeout.ms, 9 s by default: ~13 s in all). Tests that do this often can pass
   * `config: { 'broker.session.timeout.ms': '3000', 'broker.heartbeat.interval.ms': '1000' }` (~7 s).
   */
  dataDir?: string;
  /** Default `.local/logs/kafka-<port>.log` (appended to). */
  logFile?: string;
  /** Extra/overriding server.properties entries, e.g. `{ 'auto.create.topics.enable': 'true' }`. */
  config?: Record<string, string>;
  /** Default 60 s (first start on a cold machine). */
  startTimeoutMs?: number;
}

export interface StartMongoOptions {
  /** Default 27027. */
  port?: number;
  /** Default `.local/logs/mongo-<port>.log` (appended to). */
  logFile?: string;
  /** Default 30 s. */
  startTimeoutMs?: number;
}

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

export interface ServiceUrls {
  kafkaBrokers: string;
  mongoUrl: string;
  dynamoEndpoint: string;
}

export interface ServiceStatus {
  name: ServiceName;
  url: string;
  /** env: taken from the env var; reused: already answered on the default port; started: started now. */
  source: 'env' | 'reused' | 'started';
  pid?: number;
  ms: number;
}

export interface StopResult {
  name: ServiceName;
  pid: number;
  outcome: 'stopped' | 'killed' | 'not-running' | 'not-ours';
}

// ---------------------------------------------------------------------------------------------------------
// Paths and constants
// ---------------------------------------------------------------------------------------------------------

const SCRIPTS_DIR = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(SCRIPTS_DIR, '../..');
const LOCAL_DIR = join(REPO_ROOT, '.local');
const SERVICES_DIR = join(LOCAL_DIR, 'services');
const LOGS_DIR = join(LOCAL_DIR, 'logs');
const RUN_DIR = join(LOCAL_DIR, 'run');
const TMP_DIR = join(LOCAL_DIR, 'tmp');
const DATA_DIR = join(LOCAL_DIR, 'data');

const HOST = '127.0.0.1';

export const DEFAULT_PORTS = {
  kafka: 19092,
  kafkaController: 19093,
  mongo: 27027,
  dynamodb: 18000,
} as const;

const ENV_VARS: Record<ServiceName, string> = {
  kafka: 'KAFKA_BROKERS',
  mongo: 'MONGO_URL',
  dynamodb: 'DYNAMODB_ENDPOINT',
};

const STOP_DEADLINE_MS = 20_000;
const KILL_DEADLINE_MS = 10_000;
const FETCH_TIMEOUT_MS = 15 * 60_000;

const KAFKA_MAIN = 'kafka.Kafka';
const KAFKA_STORAGE_TOOL = 'kafka.tools.StorageTool';
const MONGO_MAIN = 'MongoLauncher';
const DYNALITE_SERVER = join(SCRIPTS_DIR, 'dynamodb', 'dynalite-server.mjs');

const serviceDir = (name: ServiceName): string => join(SERVICES_DIR, name);
const libDir = (name: ServiceName): string => join(serviceDir(name), 'lib');
const DYNAMO_DATA_DIR = join(serviceDir('dynamodb'), 'data');
const pidFile = (name: ServiceName): string => join(RUN_DIR, `${name}.pid`);
/** Every process of a default instance names this in its command line (classpath, or dynalite's --path). */
const serviceMarker = (name: ServiceName): string => `${serviceDir(name)}/`;

// ---------------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------------

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function javaBin(tool: 'java' | 'javac'): string {
  const home = process.env.JAVA_HOME;
  return home ? join(home, 'bin', tool) : tool;
}

interface RunResult {
  code: number | null;
  output: string;
}

/** Runs a command to completion, collecting stdout+stderr. Never rejects for a non-zero exit. */
function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      cmd,
      args,
      {
        cwd: opts.cwd ?? REPO_ROOT,
        timeout: opts.timeoutMs ?? FETCH_TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        if (error && typeof error.code === 'string') {
          // Spawn failure (ENOENT...): the command itself is missing.
          reject(new Error(`cannot run ${cmd}: ${error.message}`));
          return;
        }
        resolvePromise({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output });
      },
    );
  });
}

function tail(text: string, lines: number): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

/** The part of a log file written since `offset`, last `lines` lines. */
async function logTail(file: string, offset: number, lines = 40): Promise<string> {
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const start = Math.max(offset, size - 64 * 1024);
      const buffer = Buffer.alloc(Math.max(0, size - start));
      await handle.read(buffer, 0, buffer.length, start);
      return tail(buffer.toString('utf8'), lines);
    } finally {
      await handle.close();
    }
  } catch (e) {
    return `(no log: ${errorMessage(e)})`;
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** True if something accepts TCP connections on host:port. */
function portAnswers(port: number, host = HOST, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host, port });
    const done = (result: boolean): void => {
      socket.removeAllListeners();
      socket.destroy();
      resolvePromise(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: exists but not ours to signal.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped) still accepts signal 0.
  return processState(pid) !== 'Z';
}

function processState(pid: number): string | undefined {
  // /proc/<pid>/stat: "pid (comm) S ..."; comm may contain spaces/parens, so split after the last ')'.
  const text = readFileSyncSafe(`/proc/${pid}/stat`);
  return text === undefined ? undefined : text.slice(text.lastIndexOf(')') + 2).split(' ')[0];
}

function readFileSyncSafe(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Command line of a process (NUL-separated args joined with spaces), or undefined without /proc. */
function processCommandLine(pid: number): string | undefined {
  const raw = readFileSyncSafe(`/proc/${pid}/cmdline`);
  return raw?.split('\0').join(' ');
}

// ---------------------------------------------------------------------------------------------------------
// Cross-process locks (mkdir is atomic); stale locks of dead owners are taken over.
// ---------------------------------------------------------------------------------------------------------

async function withLock<T>(
  lockDir: string,
  what: string,
  fn: () => Promise<T>,
  timeoutMs = FETCH_TIMEOUT_MS,
): Promise<T> {
  await mkdir(dirname(lockDir), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  const owner = join(lockDir, 'owner');
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(owner, String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const ownerPid = Number.parseInt((await readFile(owner, 'utf8').catch(() => '')).trim(), 10);
      if (Number.isInteger(ownerPid) && ownerPid > 0 && !pidAlive(ownerPid)) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!Number.isInteger(ownerPid)) {
        // Owner file not written yet, or a crash between mkdir and writeFile: give it a moment.
        const age = Date.now() - (await stat(lockDir).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
        if (age > 30_000) {
          await rm(lockDir, { recursive: true, force: true });
          continue;
        }
      }
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for the ${what} lock held by pid ${ownerPid} (${lockDir})`);
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Fetching (mvn dependency:copy-dependencies), idempotent through a marker file
// ---------------------------------------------------------------------------------------------------------

interface FetchSpec {
  pom: string;
  /** Extra inputs whose change forces a re-fetch. */
  inputs: string[];
  mvnArgs: string[];
  /** Work after the jars are in `<staging>/lib`. */
  post?: (staging: string) => Promise<void>;
}

const JAVA_SOURCES = join(SCRIPTS_DIR, 'java');
const WATCHDOG_SOURCE = join(JAVA_SOURCES, 'ParentWatchdog.java');
const WATCHDOG_MAIN = 'ParentWatchdog';

/** javac --release 17 the given sources into `<staging>/classes` against `<staging>/lib/*`. */
async function compileJava(staging: string, sources: string[]): Promise<void> {
  const classes = join(staging, 'classes');
  await mkdir(classes, { recursive: true });
  const result = await run(javaBin('javac'), [
    '--release',
    '17',
    '-cp',
    `${join(staging, 'lib')}/*`,
    '-d',
    classes,
    ...sources,
  ]);
  if (result.code !== 0) throw new Error(`javac ${sources.join(' ')} failed:\n${tail(result.output, 30)}`);
}

const FETCH_SPECS: Record<JvmServiceName, FetchSpec> = {
  kafka: {
    pom: join(SCRIPTS_DIR, 'kafka', 'pom.xml'),
    inputs: [WATCHDOG_SOURCE],
    mvnArgs: [],
    post: (staging) => compileJava(staging, [WATCHDOG_SOURCE]),
  },
  mongo: {
    pom: join(SCRIPTS_DIR, 'mongo', 'pom.xml'),
    inputs: [WATCHDOG_SOURCE, join(JAVA_SOURCES, 'MongoLauncher.java')],
    mvnArgs: [],
    post: (staging) => compileJava(staging, [WATCHDOG_SOURCE, join(JAVA_SOURCES, 'MongoLauncher.java')]),
  },
};

async function fetchFingerprint(spec: FetchSpec): Promise<string> {
  const hash = createHash('sha256');
  for (const file of [spec.pom, ...spec.inputs]) {
    hash.update(file);
    hash.update(await readFile(file));
  }
  return hash.digest('hex');
}

const fetchesInProcess = new Map<JvmServiceName, Promise<void>>();

/**
 * Makes sure `.local/services/<name>` holds the service's jars (and launcher/native libs). Fetches with mvn
 * only when the marker is missing or the pom changed. Concurrent callers (in this or other processes) wait
 * for one fetch; all mvn runs are serialised because Maven 3.8 does not lock ~/.m2.
 */
export function fetchService(name: JvmServiceName): Promise<void> {
  let pending = fetchesInProcess.get(name);
  if (!pending) {
    pending = doFetch(name).finally(() => fetchesInProcess.delete(name));
    fetchesInProcess.set(name, pending);
  }
  return pending;
}

async function doFetch(name: JvmServiceName): Promise<void> {
  const spec = FETCH_SPECS[name];
  const marker = join(serviceDir(name), '.fetched');
  const fingerprint = await fetchFingerprint(spec);
  const isFresh = async (): Promise<boolean> =>
    (await readFile(marker, 'utf8').catch(() => '')).trim() === fingerprint && (await exists(libDir(name)));
  if (await isFresh()) {
    await pruneOldServiceDirs(name).catch(() => undefined);
    return;
  }

  await withLock(join(SERVICES_DIR, '.fetch.lock'), 'mvn fetch', async () => {
    if (await isFresh()) return;
    const started = Date.now();
    process.stderr.write(
      `[services] fetching ${name} from Maven Central (mvn ${relativeToRepo(spec.pom)})...\n`,
    );
    const staging = join(SERVICES_DIR, `.${name}.staging-${process.pid}`);
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    const args = [
      '-B',
      '-q',
      '-f',
      spec.pom,
      'dependency:copy-dependencies',
      `-DoutputDirectory=${join(staging, 'lib')}`,
      '-DincludeScope=runtime',
      ...spec.mvnArgs,
    ];
    let result = await run('mvn', args);
    if (result.code !== 0) {
      // One retry with -U: a failed download is cached in ~/.m2 (*.lastUpdated) and not retried otherwise.
      process.stderr.write(`[services] mvn failed for ${name}, retrying once with -U\n`);
      result = await run('mvn', ['-U', ...args]);
    }
    if (result.code !== 0) {
      await rm(staging, { recursive: true, force: true });
      throw new Error(`fetching ${name} failed (mvn ${args.join(' ')}):\n${tail(result.output, 40)}`);
    }
    if (spec.post) {
      try {
        await spec.post(staging);
      } catch (e) {
        await rm(staging, { recursive: true, force: true });
        throw e;
      }
    }
    await writeFile(join(staging, '.fetched'), `${fingerprint}\n`);
    // Swap in: old dir aside, staging into place. A running JVM of this service may still load classes
    // from the old jars, so old dirs are only deleted once no such JVM runs.
    if (await exists(serviceDir(name))) {
      await rename(serviceDir(name), join(SERVICES_DIR, `.${name}.old-${Date.now()}-${process.pid}`));
    }
    await rename(staging, serviceDir(name));
    await pruneOldServiceDirs(name);
    process.stderr.write(`[services] fetched ${name} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  });
}

/** True if a running process was started from `.local/services/<name>/` (or /proc is unavailable). */
async function serviceInUse(name: ServiceName): Promise<boolean> {
  const needle = serviceMarker(name);
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return true;
  }
  return entries.some((entry) => /^\d+$/.test(entry) && processCommandLine(Number(entry))?.includes(needle));
}

async function pruneOldServiceDirs(name: ServiceName): Promise<void> {
  const old = (await readdir(SERVICES_DIR)).filter((f) => f.startsWith(`.${name}.old-`));
  if (old.length === 0 || (await serviceInUse(name))) return;
  for (const dir of old) await rm(join(SERVICES_DIR, dir), { recursive: true, force: true });
}

function relativeToRepo(path: string): string {
  return path.startsWith(`${REPO_ROOT}/`) ? path.slice(REPO_ROOT.length + 1) : path;
}

// ---------------------------------------------------------------------------------------------------------
// Readiness probes: the real protocol, not just a TCP connect
// ---------------------------------------------------------------------------------------------------------

/** TCP pre-check: a closed port fails at once instead of after a client's selection/connect timeout. */
async function endpointOpen(hostAndPort: string): Promise<boolean> {
  const match = /^(?:[a-z]+:\/\/)?([^/:,]+):(\d+)/.exec(hostAndPort);
  if (!match?.[1] || !match[2]) return true; // Not a plain host:port: let the real client decide.
  return portAnswers(Number(match[2]), match[1]);
}

async function kafkaAnswers(brokers: string, timeoutMs = 3000): Promise<boolean> {
  if (!(await endpointOpen(brokers))) return false;
  const kafka = new Kafka({
    clientId: 'services-probe',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(timeoutMs, 2000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Best effort, after the broker answers: create the group coordinator's offsets topic and the first
 * producer-id block now, so the first test's consumer group / idempotent producer does not see
 * "coordinator not available / loading" retries.
 */
async function warmUpKafka(brokers: string): Promise<void> {
  const kafka = new Kafka({
    clientId: 'services-warmup',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const work = Promise.allSettled([
    (async () => {
      await admin.connect();
      await admin.describeGroups(['services-warmup']);
    })(),
    (async () => {
      await producer.connect();
    })(),
  ]);
  await Promise.race([work, sleep(15_000)]);
  await Promise.allSettled([admin.disconnect(), producer.disconnect()]);
}

async function mongoAnswers(url: string, timeoutMs = 3000): Promise<boolean> {
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

async function dynamoAnswers(endpoint: string, timeoutMs = 3000): Promise<boolean> {
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

// ---------------------------------------------------------------------------------------------------------
// Spawning service processes (JVMs, node)
// ---------------------------------------------------------------------------------------------------------

/** Private (attached) service processes: SIGKILLed when this process exits, so none is left behind. */
const attachedChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of attachedChildren) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
}

interface SpawnedProcess {
  child: ChildProcess;
  pid: number;
  logFile: string;
  logOffset: number;
  exited: Promise<void>;
  hasExited(): boolean;
}

/** Called right after a service is spawned, before it is ready (ensureServices records pids there). */
type OnSpawn = (pid: number) => Promise<void>;

interface JvmSpec {
  service: JvmServiceName;
  jvmArgs: string[];
  /** Classpath entries after the service's own `classes/` (which holds ParentWatchdog, MongoLauncher). */
  classpath: string[];
  mainClass: string;
  mainArgs: string[];
}

/**
 * Attached JVMs run under ParentWatchdog with stdin on a pipe that is never written: when this process
 * dies, even by SIGKILL, the pipe closes and the JVM exits instead of lingering with the test's ports.
 * Detached JVMs run the main class directly in their own session, stdin on /dev/null.
 */
function spawnJvm(
  spec: JvmSpec,
  opts: { logFile: string; detached: boolean; cwd: string },
): Promise<SpawnedProcess> {
  const classpath = [join(serviceDir(spec.service), 'classes'), ...spec.classpath].join(':');
  const args = [
    ...spec.jvmArgs,
    '-cp',
    classpath,
    ...(opts.detached ? [] : [WATCHDOG_MAIN]),
    spec.mainClass,
    ...spec.mainArgs,
  ];
  return spawnService(javaBin('java'), args, opts);
}

/**
 * Spawns a service process, stdout/stderr appended to the log file. Attached: stdin on a pipe that is never
 * written (the process's watchdog exits when it closes). Detached: its own session, stdin on /dev/null.
 */
async function spawnService(
  command: string,
  args: string[],
  opts: { logFile: string; detached: boolean; cwd: string },
): Promise<SpawnedProcess> {
  await mkdir(dirname(opts.logFile), { recursive: true });
  const logOffset = await fileSize(opts.logFile);
  await writeFile(opts.logFile, `\n===== ${new Date().toISOString()} ${command} ${args.join(' ')}\n`, {
    flag: 'a',
  });
  const fd = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      cwd: opts.cwd,
      detached: opts.detached,
      stdio: [opts.detached ? 'ignore' : 'pipe', fd, fd],
      env: process.env,
    });
  } finally {
    closeSync(fd);
  }
  // Writing to a dead process's stdin pipe would emit EPIPE errors; nothing is ever written, but be safe.
  child.stdin?.on('error', () => undefined);
  let exited = false;
  const exitedPromise = new Promise<void>((resolvePromise) => {
    child.once('exit', () => {
      exited = true;
      attachedChildren.delete(child);
      resolvePromise();
    });
  });
  const pid = await new Promise<number>((resolvePromise, reject) => {
    child.once('spawn', () => resolvePromise(child.pid ?? -1));
    child.once('error', (e) => reject(new Error(`cannot start ${command}: ${e.message}`)));
  });
  if (!opts.detached) {
    installExitHook();
    attachedChildren.add(child);
  }
  // The child stays ref'd while it starts (the caller waits for it anyway); see detachFromEventLoop.
  return { child, pid, logFile: opts.logFile, logOffset, exited: exitedPromise, hasExited: () => exited };
}

/**
 * Once the process is up, stop it from keeping the event loop alive: attached ones die with us (exit hook,
 * watchdog pipe), detached ones outlive us.
 */
function detachFromEventLoop(proc: SpawnedProcess): void {
  proc.child.unref();
  if (proc.child.stdin instanceof Socket) proc.child.stdin.unref();
}

async function waitUntilReady(
  name: string,
  proc: SpawnedProcess,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (proc.hasExited()) {
      throw new Error(
        `${name} (pid ${proc.pid}) exited during start-up (code ${proc.child.exitCode}, signal ${proc.child.signalCode}). ` +
          `Log ${proc.logFile}:\n${await logTail(proc.logFile, proc.logOffset)}`,
      );
    }
    if (await probe()) {
      detachFromEventLoop(proc);
      return;
    }
    if (Date.now() - started > timeoutMs) {
      proc.child.kill('SIGKILL');
      throw new Error(
        `${name} (pid ${proc.pid}) did not answer within ${Math.round(timeoutMs / 1000)} s; killed it. ` +
          `Log ${proc.logFile}:\n${await logTail(proc.logFile, proc.logOffset)}`,
      );
    }
    await Promise.race([sleep(300), proc.exited]);
  }
}

async function terminate(
  proc: SpawnedProcess,
  signal: 'SIGTERM' | 'SIGKILL',
  deadlineMs: number,
): Promise<void> {
  if (proc.hasExited()) return;
  proc.child.kill(signal);
  // A ref'd timer keeps the event loop alive while we wait (the child itself is unref'd).
  const timedOut = await Promise.race([proc.exited.then(() => false), sleep(deadlineMs).then(() => true)]);
  if (timedOut && !proc.hasExited()) {
    proc.child.kill('SIGKILL');
    await Promise.race([proc.exited, sleep(KILL_DEADLINE_MS)]);
  }
  if (!proc.hasExited()) throw new Error(`pid ${proc.pid} did not exit after SIGKILL`);
}

function makeHandle(
  name: string,
  url: string,
  port: number,
  proc: SpawnedProcess,
  cleanup: () => Promise<void> = async () => undefined,
): ServiceHandle {
  let stopping: Promise<void> | undefined;
  const end = (signal: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
    if (signal === 'SIGKILL' || !stopping) {
      const deadline = signal === 'SIGTERM' ? STOP_DEADLINE_MS : KILL_DEADLINE_MS;
      stopping = terminate(proc, signal, deadline).then(cleanup);
    }
    return stopping;
  };
  return {
    name,
    url,
    port,
    pid: proc.pid,
    logFile: proc.logFile,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
  };
}

async function assertPortFree(name: string, port: number): Promise<void> {
  if (await portAnswers(port)) {
    throw new Error(`cannot start ${name}: something already listens on ${HOST}:${port}`);
  }
}

const HEAP = {
  kafka: ['-Xms128m', '-Xmx512m'],
  mongo: ['-Xms32m', '-Xmx256m'],
} as const;

const COMMON_JVM_FLAGS = ['-XX:+UseSerialGC', '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true'];

// ---------------------------------------------------------------------------------------------------------
// Kafka
// ---------------------------------------------------------------------------------------------------------

function kafkaClusterId(): string {
  // Kafka's Uuid: 16 random bytes, base64url without padding; Kafka never hands out ids starting with '-'.
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function kafkaServerProperties(
  port: number,
  controllerPort: number,
  logDir: string,
  extra: Record<string, string>,
): string {
  const props: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@${HOST}:${controllerPort}`,
    listeners: `PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${HOST}:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': logDir,
    // Single node: every replication factor / ISR is 1.
    'num.partitions': '3',
    'default.replication.factor': '1',
    'min.insync.replicas': '1',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '3',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'transaction.state.log.num.partitions': '3',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    'share.coordinator.state.topic.num.partitions': '3',
    'group.initial.rebalance.delay.ms': '0',
    // As on MSK: topics are created explicitly (the app creates its own through the admin client).
    'auto.create.topics.enable': 'false',
    // Small footprint: small segments/indexes, a small compaction buffer, few threads (2 cores).
    'log.segment.bytes': String(8 * 1024 * 1024),
    'log.index.size.max.bytes': String(1024 * 1024),
    'log.retention.hours': '24',
    'log.cleaner.dedupe.buffer.size': String(8 * 1024 * 1024),
    'log.cleaner.threads': '1',
    'num.network.threads': '2',
    'num.io.threads': '4',
    'num.recovery.threads.per.data.dir': '1',
    'background.threads': '4',
    ...extra,
  };
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

/** Removes temporary Kafka data dirs left behind by processes that died without stop()/kill(). */
async function sweepStaleTempDirs(): Promise<void> {
  await mkdir(TMP_DIR, { recursive: true });
  for (const entry of await readdir(TMP_DIR)) {
    const dir = join(TMP_DIR, entry);
    const owner = Number.parseInt(await readFile(join(dir, '.owner'), 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && owner > 0 && !pidAlive(owner))
      await rm(dir, { recursive: true, force: true });
  }
}

/** Starts a private single-node KRaft Kafka (broker + controller in one JVM) owned by this process. */
export function startKafka(opts: StartKafkaOptions = {}): Promise<KafkaHandle> {
  return startKafkaInternal(opts, false);
}

async function startKafkaInternal(
  opts: StartKafkaOptions,
  detached: boolean,
  onSpawn?: OnSpawn,
): Promise<KafkaHandle> {
  const port = opts.port ?? DEFAULT_PORTS.kafka;
  const controllerPort =
    opts.controllerPort ?? (opts.port === undefined ? DEFAULT_PORTS.kafkaController : port + 1);
  const logFile = opts.logFile ?? join(LOGS_DIR, `kafka-${port}.log`);
  await fetchService('kafka');
  await assertPortFree('kafka', port);
  await assertPortFree('kafka controller', controllerPort);

  let ownsDataDir = false;
  let dataDir: string;
  if (opts.dataDir) {
    dataDir = resolve(opts.dataDir);
  } else {
    await sweepStaleTempDirs();
    dataDir = await mkdtemp(join(TMP_DIR, `kafka-${port}-`));
    await writeFile(join(dataDir, '.owner'), `${process.pid}\n`);
    ownsDataDir = true;
  }
  const logDir = join(dataDir, 'kraft-logs');
  const configFile = join(dataDir, 'server.properties');
  await mkdir(logDir, { recursive: true });
  await writeFile(configFile, kafkaServerProperties(port, controllerPort, logDir, opts.config ?? {}));

  const classpath = `${libDir('kafka')}/*`;
  const log4j = `-Dlog4j2.configurationFile=${join(SCRIPTS_DIR, 'kafka', 'log4j2.properties')}`;

  // Format the KRaft storage unless this dataDir already holds a formatted node (restart on the same data).
  if (!(await exists(join(logDir, 'meta.properties')))) {
    await mkdir(dirname(logFile), { recursive: true });
    const format = await run(
      javaBin('java'),
      [
        '-Xmx256m',
        '-XX:TieredStopAtLevel=1',
        ...COMMON_JVM_FLAGS,
        log4j,
        '-cp',
        classpath,
        KAFKA_STORAGE_TOOL,
        'format',
        '--ignore-formatted',
        '-t',
        kafkaClusterId(),
        '-c',
        configFile,
      ],
      { cwd: dataDir, timeoutMs: 60_000 },
    );
    await writeFile(logFile, `\n===== ${new Date().toISOString()} kafka storage format\n${format.output}`, {
      flag: 'a',
    });
    if (format.code !== 0) {
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
      throw new Error(`kafka storage format failed (exit ${format.code}):\n${tail(format.output, 30)}`);
    }
  }

  const jvm = await spawnJvm(
    {
      service: 'kafka',
      jvmArgs: [...HEAP.kafka, ...COMMON_JVM_FLAGS, log4j, `-Dservices.name=kafka-${port}`],
      classpath: [`${libDir('kafka')}/*`],
      mainClass: KAFKA_MAIN,
      mainArgs: [configFile],
    },
    { logFile, detached, cwd: dataDir },
  );
  await onSpawn?.(jvm.pid);
  const url = `${HOST}:${port}`;
  const cleanup = async (): Promise<void> => {
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady('kafka', jvm, () => kafkaAnswers(url), opts.startTimeoutMs ?? 60_000);
  } catch (e) {
    await jvm.exited;
    await cleanup();
    throw e;
  }
  await warmUpKafka(url);
  return { ...makeHandle('kafka', url, port, jvm, cleanup), controllerPort, dataDir };
}

// ---------------------------------------------------------------------------------------------------------
// Mongo (mongo-java-server)
// ---------------------------------------------------------------------------------------------------------

/** Starts a private in-memory Mongo-wire server owned by this process. */
export function startMongo(opts: StartMongoOptions = {}): Promise<ServiceHandle> {
  return startMongoInternal(opts, false);
}

async function startMongoInternal(
  opts: StartMongoOptions,
  detached: boolean,
  onSpawn?: OnSpawn,
): Promise<ServiceHandle> {
  const port = opts.port ?? DEFAULT_PORTS.mongo;
  const logFile = opts.logFile ?? join(LOGS_DIR, `mongo-${port}.log`);
  await fetchService('mongo');
  await assertPortFree('mongo', port);
  const dir = serviceDir('mongo');
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
      mainArgs: ['--host', HOST, '--port', String(port)],
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

// ---------------------------------------------------------------------------------------------------------
// DynamoDB (dynalite)
// ---------------------------------------------------------------------------------------------------------

/** Starts a private dynalite owned by this process: in memory, or on `dataDir` if given. */
export function startDynamo(opts: StartDynamoOptions = {}): Promise<ServiceHandle> {
  return startDynamoInternal(opts, false);
}

async function startDynamoInternal(
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

// ---------------------------------------------------------------------------------------------------------
// Shared default instances: ensureServices / stopServices
// ---------------------------------------------------------------------------------------------------------

interface DefaultService {
  name: ServiceName;
  port: number;
  url: string;
  probe: (url: string) => Promise<boolean>;
  start: (detached: boolean, onSpawn: OnSpawn) => Promise<ServiceHandle>;
}

const DEFAULT_SERVICES: readonly DefaultService[] = [
  {
    name: 'kafka',
    port: DEFAULT_PORTS.kafka,
    url: `${HOST}:${DEFAULT_PORTS.kafka}`,
    probe: (url) => kafkaAnswers(url),
    start: async (detached, onSpawn) => {
      // The shared broker starts clean each time, like the in-memory Mongo (DynamoDB keeps its data).
      const dataDir = join(DATA_DIR, `kafka-${DEFAULT_PORTS.kafka}`);
      await rm(dataDir, { recursive: true, force: true });
      return startKafkaInternal(
        { port: DEFAULT_PORTS.kafka, controllerPort: DEFAULT_PORTS.kafkaController, dataDir },
        detached,
        onSpawn,
      );
    },
  },
  {
    name: 'mongo',
    port: DEFAULT_PORTS.mongo,
    url: `mongodb://${HOST}:${DEFAULT_PORTS.mongo}`,
    probe: (url) => mongoAnswers(url),
    start: (detached, onSpawn) => startMongoInternal({ port: DEFAULT_PORTS.mongo }, detached, onSpawn),
  },
  {
    name: 'dynamodb',
    port: DEFAULT_PORTS.dynamodb,
    url: `http://${HOST}:${DEFAULT_PORTS.dynamodb}`,
    probe: (url) => dynamoAnswers(url),
    start: (detached, onSpawn) =>
      startDynamoInternal({ port: DEFAULT_PORTS.dynamodb, dataDir: DYNAMO_DATA_DIR }, detached, onSpawn),
  },
];

/** The pid recorded for a detached default instance, if that process still runs and is that service's. */
function recordedPid(
  name: ServiceName,
  text: string,
): { pid: number; ours: boolean; alive: boolean } | undefined {
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const alive = pidAlive(pid);
  const cmdline = alive ? processCommandLine(pid) : undefined;
  // Without /proc we cannot tell, and trust the pid file.
  const ours = cmdline === undefined ? alive : cmdline.includes(serviceMarker(name));
  return { pid, ours, alive };
}

async function readPidFile(
  name: ServiceName,
): Promise<{ pid: number; ours: boolean; alive: boolean } | undefined> {
  const text = await readFile(pidFile(name), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : recordedPid(name, text);
}

async function ensureOne(service: DefaultService, detached: boolean): Promise<ServiceStatus> {
  const started = Date.now();
  const fromEnv = process.env[ENV_VARS[service.name]];
  if (fromEnv) return { name: service.name, url: fromEnv, source: 'env', ms: 0 };

  const reuse = async (): Promise<ServiceStatus | undefined> => {
    if (!(await service.probe(service.url))) return undefined;
    const recorded = await readPidFile(service.name);
    return {
      name: service.name,
      url: service.url,
      source: 'reused',
      ...(recorded?.ours ? { pid: recorded.pid } : {}),
      ms: Date.now() - started,
    };
  };
  const already = await reuse();
  if (already) return already;

  // One starter at a time across processes; the others wait and then reuse.
  return withLock(join(RUN_DIR, `${service.name}.lock`), `${service.name} start`, async () => {
    const recorded = await readPidFile(service.name);
    if (recorded?.alive && recorded.ours) {
      // Started by someone else (maybe still starting): wait for it rather than starting a second one.
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline && pidAlive(recorded.pid)) {
        const again = await reuse();
        if (again) return again;
        await sleep(500);
      }
      if (pidAlive(recorded.pid)) {
        throw new Error(
          `${service.name} pid ${recorded.pid} (from ${pidFile(service.name)}) runs but does not answer on ${service.url}`,
        );
      }
    }
    const again = await reuse();
    if (again) return again;
    if (await portAnswers(service.port)) {
      throw new Error(
        `${HOST}:${service.port} is taken by something that does not answer as ${service.name}`,
      );
    }
    // The pid file is written as soon as the process exists, so `down` finds it even if this process dies
    // while the service is still starting.
    const recordPid: OnSpawn = async (pid) => {
      if (!detached) return;
      await mkdir(RUN_DIR, { recursive: true });
      await writeFile(pidFile(service.name), `${pid}\n`);
    };
    let handle: ServiceHandle;
    try {
      handle = await service.start(detached, recordPid);
    } catch (e) {
      if (detached) await rm(pidFile(service.name), { force: true });
      throw e;
    }
    return {
      name: service.name,
      url: handle.url,
      source: 'started',
      pid: handle.pid,
      ms: Date.now() - started,
    };
  });
}

/**
 * Like ensureServices, with what happened to each service. `detached` (default true): started instances
 * outlive this process and are recorded in .local/run/<name>.pid; with false they die with this process.
 */
export async function ensureServicesWithStatus(
  opts: { detached?: boolean } = {},
): Promise<{ urls: ServiceUrls; services: ServiceStatus[] }> {
  const detached = opts.detached ?? true;
  // In parallel; only what must be started is fetched (the fetch lock runs one mvn at a time).
  const results = await Promise.allSettled(DEFAULT_SERVICES.map((s) => ensureOne(s, detached)));
  const failures = results.flatMap((r, i) =>
    r.status === 'rejected' ? [`${DEFAULT_SERVICES[i]?.name}: ${errorMessage(r.reason)}`] : [],
  );
  if (failures.length > 0) throw new Error(`could not provide the local services:\n${failures.join('\n\n')}`);
  const services = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const urlOf = (name: ServiceName): string => services.find((s) => s.name === name)?.url ?? '';
  return {
    urls: { kafkaBrokers: urlOf('kafka'), mongoUrl: urlOf('mongo'), dynamoEndpoint: urlOf('dynamodb') },
    services,
  };
}

/**
 * For each service: the env var (KAFKA_BROKERS, MONGO_URL, DYNAMODB_ENDPOINT) if set; else the default port
 * if it already answers; else a detached start (pid in .local/run/<name>.pid) on the default port.
 */
export async function ensureServices(opts: { detached?: boolean } = {}): Promise<ServiceUrls> {
  return (await ensureServicesWithStatus(opts)).urls;
}

/** Whether each default port answers its protocol, and the recorded detached pid if any. */
export async function probeDefaults(): Promise<
  { name: ServiceName; url: string; up: boolean; pid?: number }[]
> {
  return Promise.all(
    DEFAULT_SERVICES.map(async (s) => {
      const recorded = await readPidFile(s.name);
      return {
        name: s.name,
        url: s.url,
        up: await s.probe(s.url),
        ...(recorded?.alive && recorded.ours ? { pid: recorded.pid } : {}),
      };
    }),
  );
}

async function waitForPidExit(pid: number, deadlineMs: number): Promise<boolean> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return true;
    await sleep(100);
  }
  return !pidAlive(pid);
}

/** Stops the detached default instances recorded in .local/run/*.pid (and nothing else). */
export async function stopServices(): Promise<StopResult[]> {
  const names: ServiceName[] = ['kafka', 'mongo', 'dynamodb'];
  const results = await Promise.all(
    names.map(async (name): Promise<StopResult | undefined> => {
      const recorded = await readPidFile(name);
      if (!recorded) {
        await rm(pidFile(name), { force: true });
        return undefined;
      }
      const { pid } = recorded;
      if (!recorded.alive) {
        await rm(pidFile(name), { force: true });
        return { name, pid, outcome: 'not-running' };
      }
      if (!recorded.ours) {
        // The pid was reused by an unrelated process: leave it alone.
        await rm(pidFile(name), { force: true });
        return { name, pid, outcome: 'not-ours' };
      }
      process.kill(pid, 'SIGTERM');
      let outcome: StopResult['outcome'] = 'stopped';
      if (!(await waitForPidExit(pid, STOP_DEADLINE_MS))) {
        process.kill(pid, 'SIGKILL');
        outcome = 'killed';
        if (!(await waitForPidExit(pid, KILL_DEADLINE_MS)))
          throw new Error(`${name} pid ${pid} survived SIGKILL`);
      }
      await rm(pidFile(name), { force: true });
      return { name, pid, outcome };
    }),
  );
  return results.filter((r): r is StopResult => r !== undefined);
}
