import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface RunningApi {
  readonly url: string;
  readonly process: ChildProcess;
  output(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Rate limits far above anything a test sends: tests that are not about rate limits must never meet one
 * (the limiter still runs, Redis and all). Tests about limits, and the environment, override these.
 */
const RATE_LIMITS_OUT_OF_REACH = Object.fromEntries(
  ['TENANT_READ', 'TENANT_WRITE', 'TENANT_AUDIT', 'RESOLVER', 'WRITER', 'ADMIN'].map((name) => [
    `RATE_LIMIT_${name}`,
    '100000/1000000',
  ]),
);

/** Spawns a runner script and waits until it prints the address it listens on. */
const spawnUntilListening = async (
  script: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<RunningApi> => {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM'); // a runner that never came up must not outlive the test
      reject(new Error(`${script} did not start in ${timeoutMs / 1000} s:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /API listening on (http:\/\/[\d.:]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`${script} exited with ${code}:\n${output}`)));
  });
  return {
    url,
    process: child,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
};

/**
 * Starts `npm run dev`'s sources runner (scripts/local/start.ts) on an OS-chosen port and waits until it
 * listens. On the default loopback address auth is off unless `AUTH_MODE: 'on'` is passed.
 */
export const startLocalApi = (env: Record<string, string> = {}): Promise<RunningApi> =>
  spawnUntilListening(
    'scripts/local/start.ts',
    {
      ...RATE_LIMITS_OUT_OF_REACH,
      ...process.env,
      API_PORT: '0',
      LOG_LEVEL: 'WARN',
      METRICS_BACKEND: 'prometheus',
      ...env,
    } as Record<string, string>,
    60_000,
  );

export interface RunningCloud extends RunningApi {
  /** The admin token the cloud's bootstrap function created (AUTH_MODE=on), if it printed one. */
  readonly adminToken: string | undefined;
}

/**
 * Starts `npm start`'s local cloud (scripts/cloud/start.ts): the synthesized `local` stage, every function from
 * its bundle on Node 22. The global setup has synthesized it and installed the runtime already.
 */
export const startLocalCloud = async (env: Record<string, string> = {}): Promise<RunningCloud> => {
  const running = await spawnUntilListening(
    'scripts/cloud/start.ts',
    { ...process.env, API_PORT: '0', ...env } as Record<string, string>,
    180_000,
  );
  return { ...running, adminToken: /admin token \(shown once\): (\S+)/.exec(running.output())?.[1] };
};
