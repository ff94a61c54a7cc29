/**
 * Apache Kafka (org.apache.kafka:kafka_2.13 from Maven Central): one KRaft node acting as broker and
 * controller, its config and log dir in a data directory. Restarted on the same data directory it resumes
 * its topics, records and consumer offsets.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { COMMON_JVM_FLAGS, fetchService, HEAP, javaBin, spawnJvm } from '../jvm.ts';
import { DEFAULT_PORTS, HOST, LOGS_DIR, libDir, SCRIPTS_DIR, TMP_DIR } from '../layout.ts';
import {
  assertPortFree,
  endpointOpen,
  exists,
  makeHandle,
  type OnSpawn,
  pidAlive,
  run,
  type ServiceHandle,
  tail,
  waitUntilReady,
} from '../process.ts';

/** One broker: the most replicas a topic can have here (the local stage's topic must fit it). */
export const LOCAL_KAFKA_BROKERS = 1;

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

const KAFKA_MAIN = 'kafka.Kafka';
const KAFKA_STORAGE_TOOL = 'kafka.tools.StorageTool';

export async function kafkaAnswers(brokers: string, timeoutMs = 3000): Promise<boolean> {
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
    'default.replication.factor': String(LOCAL_KAFKA_BROKERS),
    'min.insync.replicas': String(LOCAL_KAFKA_BROKERS),
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

export async function startKafkaInternal(
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
