/**
 * The JVM services (Kafka, the Mongo-wire server): fetched from Maven Central with `mvn
 * dependency:copy-dependencies` (poms in scripts/services/<name>/pom.xml) into `.local/services/<name>/`,
 * our few Java sources compiled against them, then run with `java`. Needs a JDK 17+ (java, javac) and
 * Maven, or only java once the jars are fetched: `missingJvmTools` says which are missing.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import {
  type JvmServiceName,
  libDir,
  relativeToRepo,
  SCRIPTS_DIR,
  SERVICES_DIR,
  type ServiceName,
  serviceDir,
} from './layout.ts';
import { exists, pathInUse, run, type SpawnedProcess, spawnService, tail, withLock } from './process.ts';

export function javaBin(tool: 'java' | 'javac'): string {
  const home = process.env.JAVA_HOME;
  return home ? join(home, 'bin', tool) : tool;
}

export const HEAP = {
  kafka: ['-Xms128m', '-Xmx512m'],
  mongo: ['-Xms32m', '-Xmx256m'],
} as const;

export const COMMON_JVM_FLAGS = [
  '-XX:+UseSerialGC',
  '-XX:+ExitOnOutOfMemoryError',
  '-Djava.awt.headless=true',
];

/** Every process of this service names its jars folder on its command line (the classpath). */
export const serviceMarker = (name: ServiceName): string => `${serviceDir(name)}/`;

async function onPath(command: string): Promise<boolean> {
  const candidates = command.includes('/')
    ? [command]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, command));
  for (const file of candidates) {
    try {
      await access(file, constants.X_OK);
      return true;
    } catch {
      // next
    }
  }
  return false;
}

/** The tools this service still needs and cannot find: java always; javac and mvn until it is fetched. */
export async function missingJvmTools(name: JvmServiceName): Promise<string[]> {
  const fetched = await isFetched(name);
  const needed = fetched ? [javaBin('java')] : [javaBin('java'), javaBin('javac'), 'mvn'];
  const missing: string[] = [];
  for (const tool of needed) if (!(await onPath(tool))) missing.push(tool);
  return missing;
}

interface FetchSpec {
  pom: string;
  /** Extra inputs whose change forces a re-fetch. */
  inputs: string[];
  mvnArgs: string[];
  /** Work after the jars are in `<staging>/lib`. */
  post?: (staging: string) => Promise<void>;
}

export const JAVA_SOURCES = join(SCRIPTS_DIR, 'java');
export const WATCHDOG_SOURCE = join(JAVA_SOURCES, 'ParentWatchdog.java');
const WATCHDOG_MAIN = 'ParentWatchdog';

/** javac --release 17 the given sources into `<staging>/classes` against `<staging>/lib/*`. */
export async function compileJava(staging: string, sources: string[]): Promise<void> {
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

/** True when `.local/services/<name>` holds the jars fetched for the current pom and sources. */
export async function isFetched(name: JvmServiceName, fingerprint?: string): Promise<boolean> {
  const marker = join(serviceDir(name), '.fetched');
  const expected = fingerprint ?? (await fetchFingerprint(FETCH_SPECS[name]));
  return (await readFile(marker, 'utf8').catch(() => '')).trim() === expected && (await exists(libDir(name)));
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
  const fingerprint = await fetchFingerprint(spec);
  const isFresh = (): Promise<boolean> => isFetched(name, fingerprint);
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

async function pruneOldServiceDirs(name: ServiceName): Promise<void> {
  const old = (await readdir(SERVICES_DIR)).filter((f) => f.startsWith(`.${name}.old-`));
  if (old.length === 0 || (await pathInUse(serviceMarker(name)))) return;
  for (const dir of old) await rm(join(SERVICES_DIR, dir), { recursive: true, force: true });
}

export interface JvmSpec {
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
export function spawnJvm(
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
