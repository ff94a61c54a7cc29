/**
 * Where the local services live. The fetched programs (jars) are the checkout's, under `.local/services/`;
 * their state — pid files, logs, data — is under the services home, `.local/` by default.
 *
 * `LOCAL_SERVICES_HOME` and `LOCAL_<SERVICE>_PORT` give a second, private set of "shared" services (the
 * fault test runs the project's own commands against one) without touching the default ones. Read once, at
 * load: tooling, so reading process.env is fine here.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ServiceName = 'kafka' | 'mongo' | 'dynamodb';
/** The services fetched with mvn and run on a JVM. */
export type JvmServiceName = Exclude<ServiceName, 'dynamodb'>;

export const SERVICE_NAMES: readonly ServiceName[] = ['kafka', 'mongo', 'dynamodb'];

export const SCRIPTS_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(SCRIPTS_DIR, '../..');
/** The fetched programs: shared by every services home of this checkout. */
export const SERVICES_DIR = join(REPO_ROOT, '.local', 'services');

export const HOME = resolve(process.env.LOCAL_SERVICES_HOME ?? join(REPO_ROOT, '.local'));
export const LOGS_DIR = join(HOME, 'logs');
export const RUN_DIR = join(HOME, 'run');
export const TMP_DIR = join(HOME, 'tmp');
export const DATA_DIR = join(HOME, 'data');

export const HOST = '127.0.0.1';

const port = (name: string, fallback: number): number => {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > 65535) throw new Error(`${name}=${value} is not a port`);
  return n;
};

/** Below 32768: the kernel's ephemeral range could hand a fixed port there to a client socket. */
export const DEFAULT_PORTS = {
  kafka: port('LOCAL_KAFKA_PORT', 19092),
  kafkaController: port('LOCAL_KAFKA_CONTROLLER_PORT', 19093),
  mongo: port('LOCAL_MONGO_PORT', 27027),
  dynamodb: port('LOCAL_DYNAMODB_PORT', 18000),
} as const;

/** The variable that names an existing instance instead (then nothing is started). */
export const ENV_VARS: Record<ServiceName, string> = {
  kafka: 'KAFKA_BROKERS',
  mongo: 'MONGO_URL',
  dynamodb: 'DYNAMODB_ENDPOINT',
};

export const serviceDir = (name: ServiceName): string => join(SERVICES_DIR, name);
export const libDir = (name: ServiceName): string => join(serviceDir(name), 'lib');
export const pidFile = (name: ServiceName): string => join(RUN_DIR, `${name}.pid`);
/** The shared instance's data: kept across stops and restarts, wiped only by `npm run services:reset`. */
export const dataDirOf = (name: ServiceName): string => join(DATA_DIR, name);

export function relativeToRepo(path: string): string {
  return path.startsWith(`${REPO_ROOT}/`) ? path.slice(REPO_ROOT.length + 1) : path;
}
