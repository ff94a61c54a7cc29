/**
 * The process handling every local service shares: running a command, spawning a service process with its
 * log, waiting until it answers its protocol, stopping it (SIGTERM, then SIGKILL), pid checks through
 * /proc, cross-process locks. Private (attached) processes die with the calling process; detached ones
 * outlive it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection, Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HOST, REPO_ROOT } from './layout.ts';

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

export const STOP_DEADLINE_MS = 20_000;
export const KILL_DEADLINE_MS = 10_000;
export const FETCH_TIMEOUT_MS = 15 * 60_000;

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

export interface RunResult {
  code: number | null;
  output: string;
}

/** Runs a command to completion, collecting stdout+stderr. Never rejects for a non-zero exit. */
export function run(
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

export function tail(text: string, lines: number): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

/** The part of a log file written since `offset`, last `lines` lines. */
export async function logTail(file: string, offset: number, lines = 40): Promise<string> {
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

export async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** True if something accepts TCP connections on host:port. */
export function portAnswers(port: number, host = HOST, timeoutMs = 1000): Promise<boolean> {
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

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: exists but not ours to signal.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped) still accepts signal 0.
  return processState(pid) !== 'Z';
}

export function processState(pid: number): string | undefined {
  // /proc/<pid>/stat: "pid (comm) S ..."; comm may contain spaces/parens, so split after the last ')'.
  const text = readFileSyncSafe(`/proc/${pid}/stat`);
  return text === undefined ? undefined : text.slice(text.lastIndexOf(')') + 2).split(' ')[0];
}

export function readFileSyncSafe(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Command line of a process (NUL-separated args joined with spaces), or undefined without /proc. */
export function processCommandLine(pid: number): string | undefined {
  const raw = readFileSyncSafe(`/proc/${pid}/cmdline`);
  return raw?.split('\0').join(' ');
}

/** True if a running process names `path` on its command line (or /proc is unavailable: assume so). */
export async function pathInUse(path: string): Promise<boolean> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return true;
  }
  return entries.some((entry) => /^\d+$/.test(entry) && processCommandLine(Number(entry))?.includes(path));
}

// ---------------------------------------------------------------------------------------------------------
// Cross-process locks (mkdir is atomic); stale locks of dead owners are taken over.
// ---------------------------------------------------------------------------------------------------------

export async function withLock<T>(
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

/** TCP pre-check: a closed port fails at once instead of after a client's selection/connect timeout. */
export async function endpointOpen(hostAndPort: string): Promise<boolean> {
  const match = /^(?:[a-z]+:\/\/)?([^/:,]+):(\d+)/.exec(hostAndPort);
  if (!match?.[1] || !match[2]) return true; // Not a plain host:port: let the real client decide.
  return portAnswers(Number(match[2]), match[1]);
}

// ---------------------------------------------------------------------------------------------------------
// Spawning service processes (JVMs, node)
// ---------------------------------------------------------------------------------------------------------

/** Private (attached) service processes: SIGKILLed when this process exits, so none is left behind. */
const attachedChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

export function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of attachedChildren) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
}

export interface SpawnedProcess {
  child: ChildProcess;
  pid: number;
  logFile: string;
  logOffset: number;
  exited: Promise<void>;
  hasExited(): boolean;
}

/** Called right after a service is spawned, before it is ready (ensureServices records pids there). */
export type OnSpawn = (pid: number) => Promise<void>;

/**
 * Spawns a service process, stdout/stderr appended to the log file. Attached: stdin on a pipe that is never
 * written (the process's watchdog exits when it closes). Detached: its own session, stdin on /dev/null.
 */
export async function spawnService(
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
export function detachFromEventLoop(proc: SpawnedProcess): void {
  proc.child.unref();
  if (proc.child.stdin instanceof Socket) proc.child.stdin.unref();
}

export async function waitUntilReady(
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

export async function terminate(
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

export function makeHandle(
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

export async function assertPortFree(name: string, port: number): Promise<void> {
  if (await portAnswers(port)) {
    throw new Error(`cannot start ${name}: something already listens on ${HOST}:${port}`);
  }
}

export async function waitForPidExit(pid: number, deadlineMs: number): Promise<boolean> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return true;
    await sleep(100);
  }
  return !pidAlive(pid);
}
