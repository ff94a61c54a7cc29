/**
 * The shared default instances: one Kafka, one Mongo-wire server, one dynalite per services home
 * (`.local/` by default), on fixed ports, detached (they outlive the runner that started them; pids in
 * `<home>/run/<name>.pid`), their data kept in `<home>/data/<name>` across stops, restarts and machine
 * restarts. `ensureServices` finds or starts them, `stopServices` stops the ones this checkout started,
 * `resetServices` also wipes their data, `servicesStatus` tells what runs where.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DYNALITE_SERVER, dynamoAnswers, startDynamoInternal } from './dynamodb/dynamodb.ts';
import { missingJvmTools, serviceMarker } from './jvm.ts';
import { kafkaAnswers, startKafkaInternal } from './kafka/kafka.ts';
import {
  DEFAULT_PORTS,
  dataDirOf,
  ENV_VARS,
  HOME,
  HOST,
  pidFile,
  REPO_ROOT,
  RUN_DIR,
  SERVICE_NAMES,
  type ServiceName,
  serviceDir,
} from './layout.ts';
import { mongoAnswers, startMongoInternal } from './mongo/mongo.ts';
import { MissingToolsError, ServicesPrerequisiteError } from './prerequisites.ts';
import {
  errorMessage,
  exists,
  KILL_DEADLINE_MS,
  type OnSpawn,
  pathInUse,
  pidAlive,
  portAnswers,
  processCommandLine,
  type ServiceHandle,
  STOP_DEADLINE_MS,
  waitForPidExit,
  withLock,
} from './process.ts';

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
  /** Set when this checkout started the instance (now or earlier). */
  pid?: number;
  /** Its data folder, when this checkout started it. */
  data?: string;
  ms: number;
}

export interface StopResult {
  name: ServiceName;
  pid: number;
  outcome: 'stopped' | 'killed' | 'not-running' | 'not-ours';
}

interface DefaultService {
  name: ServiceName;
  port: number;
  url: string;
  /** What keeps its data (kept across restarts; `resetServices` wipes it). */
  data: string;
  /** A string every process of this service has on its command line (pid-reuse check). */
  marker: string;
  probe: (url: string) => Promise<boolean>;
  start: (detached: boolean, onSpawn: OnSpawn) => Promise<ServiceHandle>;
}

/** Before data was kept under `<home>/data/`, dynalite kept it here; moved once, when nothing runs on it. */
const LEGACY_DYNAMO_DATA = join(serviceDir('dynamodb'), 'data');

async function adoptLegacyDynamoData(target: string): Promise<void> {
  if (HOME !== join(REPO_ROOT, '.local') || (await exists(target)) || !(await exists(LEGACY_DYNAMO_DATA)))
    return;
  if (await pathInUse(LEGACY_DYNAMO_DATA)) return;
  await mkdir(dirname(target), { recursive: true });
  await rename(LEGACY_DYNAMO_DATA, target);
}

const DEFAULT_SERVICES: readonly DefaultService[] = [
  {
    name: 'kafka',
    port: DEFAULT_PORTS.kafka,
    url: `${HOST}:${DEFAULT_PORTS.kafka}`,
    data: dataDirOf('kafka'),
    marker: serviceMarker('kafka'),
    probe: (url) => kafkaAnswers(url),
    start: (detached, onSpawn) =>
      startKafkaInternal(
        {
          port: DEFAULT_PORTS.kafka,
          controllerPort: DEFAULT_PORTS.kafkaController,
          dataDir: dataDirOf('kafka'),
          // After a SIGKILL the restarted node waits out its previous incarnation's session: keep it short.
          config: { 'broker.session.timeout.ms': '3000', 'broker.heartbeat.interval.ms': '1000' },
        },
        detached,
        onSpawn,
      ),
  },
  {
    name: 'mongo',
    port: DEFAULT_PORTS.mongo,
    url: `mongodb://${HOST}:${DEFAULT_PORTS.mongo}`,
    data: join(dataDirOf('mongo'), 'mongo.mv.db'),
    marker: serviceMarker('mongo'),
    probe: (url) => mongoAnswers(url),
    start: (detached, onSpawn) =>
      startMongoInternal(
        { port: DEFAULT_PORTS.mongo, dataFile: join(dataDirOf('mongo'), 'mongo.mv.db') },
        detached,
        onSpawn,
      ),
  },
  {
    name: 'dynamodb',
    port: DEFAULT_PORTS.dynamodb,
    url: `http://${HOST}:${DEFAULT_PORTS.dynamodb}`,
    data: dataDirOf('dynamodb'),
    marker: DYNALITE_SERVER,
    probe: (url) => dynamoAnswers(url),
    start: async (detached, onSpawn) => {
      await adoptLegacyDynamoData(dataDirOf('dynamodb'));
      return startDynamoInternal(
        { port: DEFAULT_PORTS.dynamodb, dataDir: dataDirOf('dynamodb') },
        detached,
        onSpawn,
      );
    },
  },
];

const serviceOf = (name: ServiceName): DefaultService => {
  const s = DEFAULT_SERVICES.find((d) => d.name === name);
  if (!s) throw new Error(`no service ${name}`);
  return s;
};

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
  const ours = cmdline === undefined ? alive : cmdline.includes(serviceOf(name).marker);
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
      ...(recorded?.alive && recorded.ours ? { pid: recorded.pid, data: service.data } : {}),
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
    if (service.name !== 'dynamodb') {
      const missing = await missingJvmTools(service.name);
      if (missing.length > 0) throw new MissingToolsError(service.name, missing);
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
      data: service.data,
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
  const missingTools = results.flatMap((r) =>
    r.status === 'rejected' && r.reason instanceof MissingToolsError ? [r.reason] : [],
  );
  if (missingTools.length > 0) throw new ServicesPrerequisiteError(missingTools);
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

export interface ServiceState {
  name: ServiceName;
  url: string;
  port: number;
  up: boolean;
  /** The pid this checkout recorded, if that process still runs (then this checkout started it). */
  pid?: number;
  startedHere: boolean;
  /** Where this checkout's instance keeps its data. */
  data: string;
  /** Set when the variable names another instance: the runners use that one, not the default port. */
  env?: string;
}

/** Each default service: its port, whether it answers, the pid this checkout started, its data folder. */
export async function servicesStatus(): Promise<ServiceState[]> {
  return Promise.all(
    DEFAULT_SERVICES.map(async (s) => {
      const recorded = await readPidFile(s.name);
      const startedHere = recorded?.alive === true && recorded.ours;
      const fromEnv = process.env[ENV_VARS[s.name]];
      return {
        name: s.name,
        url: s.url,
        port: s.port,
        up: await s.probe(s.url),
        ...(startedHere ? { pid: recorded.pid } : {}),
        startedHere,
        data: s.data,
        ...(fromEnv ? { env: `${ENV_VARS[s.name]}=${fromEnv}` } : {}),
      };
    }),
  );
}

/** Whether each default port answers its protocol, and the recorded detached pid if any. */
export async function probeDefaults(): Promise<
  { name: ServiceName; url: string; up: boolean; pid?: number }[]
> {
  return (await servicesStatus()).map(({ name, url, up, pid }) => ({
    name,
    url,
    up,
    ...(pid === undefined ? {} : { pid }),
  }));
}

/**
 * What a runner says when it stops: the services it started or found keep running (they are shared by
 * every runner and test of this checkout), and how to stop them.
 */
export function servicesLeftRunning(services: readonly ServiceStatus[]): string[] {
  const ours = services.filter((s) => s.pid !== undefined);
  const foreign = services.filter((s) => s.source === 'reused' && s.pid === undefined);
  const lines: string[] = [];
  if (ours.length > 0) {
    lines.push(
      `local services keep running: ${ours.map((s) => `${s.name} (pid ${s.pid})`).join(', ')}; ` +
        'their data stays in .local/data/. Stop them with `npm run services:down`; ' +
        '`npm run services:status` shows them.',
    );
  }
  for (const s of foreign) {
    lines.push(`${s.name} at ${s.url} was already running, not started by this checkout: left alone`);
  }
  return lines;
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
export interface ResetResult {
  stopped: StopResult[];
  wiped: string[];
}

/**
 * Stops this checkout's detached instances and deletes their data (topics and offsets, the audit trail,
 * the idempotency keys). Refuses while a process still uses one of the data folders.
 */
export async function resetServices(): Promise<ResetResult> {
  const stopped = await stopServices();
  const busy: string[] = [];
  for (const s of DEFAULT_SERVICES) if (await pathInUse(s.data)) busy.push(`${s.name} (${s.data})`);
  if (busy.length > 0) {
    throw new Error(`not reset: still in use by a running process: ${busy.join(', ')}`);
  }
  const wiped: string[] = [];
  for (const name of SERVICE_NAMES) {
    const dir = dataDirOf(name);
    if (await exists(dir)) {
      await rm(dir, { recursive: true, force: true });
      wiped.push(dir);
    }
  }
  return { stopped, wiped };
}
