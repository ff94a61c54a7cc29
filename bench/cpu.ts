// CPU time per process group while a load runs, from /proc (Linux): where a request's work goes on a
// machine where the API, its dependencies and the load generator share the cores.
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

const TICK_US = 10_000; // USER_HZ is 100 on Linux

const ticksOf = (pid: number): number => {
  try {
    // Fields after the command name (which may contain spaces): utime and stime are 14th and 15th overall.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0; // the process ended
  }
};

const parentOf = (pid: string): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
};

/** Every process below `pid` (the local cloud's function containers; none for the sources runner). */
const descendantsOf = (pid: number, all: readonly string[]): number[] => {
  const children = new Map<number, number[]>();
  for (const p of all) {
    const parent = parentOf(p);
    children.set(parent, [...(children.get(parent) ?? []), Number(p)]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const child of children.get(p) ?? []) {
      out.push(child);
      walk(child);
    }
  };
  walk(pid);
  return out;
};

const commandOf = (pid: string): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
};

/** The Lambda function a local-cloud container runs (its AWS_LAMBDA_FUNCTION_NAME), if it is one. */
const functionOf = (pid: number): string | undefined => {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return env
      .find((v) => v.startsWith('AWS_LAMBDA_FUNCTION_NAME='))
      ?.slice('AWS_LAMBDA_FUNCTION_NAME='.length);
  } catch {
    return undefined;
  }
};

/**
 * The pids of each group, found by command line (Postgres: every backend and helper process); the API's
 * child processes are a group of their own, except the local cloud's function containers: one group per
 * function (`fn:<function name>`).
 */
const groups = (runnerPid: number): Record<string, number[]> => {
  const all = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  const children = descendantsOf(runnerPid, all);
  const out: Record<string, number[]> = {
    api: [runnerPid],
    api_children: [],
    postgres: [],
    redis: [],
    kafka: [],
    mongo: [],
  };
  for (const pid of children) {
    const fn = functionOf(pid);
    const group = fn ? `fn:${fn}` : 'api_children';
    out[group] = [...(out[group] ?? []), pid];
  }
  for (const pid of all) {
    const cmd = commandOf(pid);
    if (/^postgres[: ]|\/postgres /.test(cmd)) out.postgres!.push(Number(pid));
    else if (/^redis-server /.test(cmd)) out.redis!.push(Number(pid));
    else if (/ kafka\.Kafka /.test(cmd)) out.kafka!.push(Number(pid));
    else if (/ MongoLauncher /.test(cmd)) out.mongo!.push(Number(pid)); // the Mongo-wire audit store
  }
  return out;
};

/**
 * Runs `load` and reports the CPU microseconds each group spent per request: the API process, its child
 * processes, Postgres, Redis, the Kafka broker, and this process (the load generator). Empty where /proc is missing.
 */
export const cpuPerRequest = async <T extends { requests: number }>(
  runnerPid: number,
  load: () => Promise<T>,
): Promise<{ result: T; cpu_us_per_request: Record<string, number> }> => {
  let pids: Record<string, number[]>;
  try {
    pids = groups(runnerPid);
  } catch {
    return { result: await load(), cpu_us_per_request: {} }; // no /proc here
  }
  const before = new Map(Object.values(pids).flatMap((list) => list.map((pid) => [pid, ticksOf(pid)])));
  const self = process.cpuUsage();
  const result = await load();
  const selfUsed = process.cpuUsage(self);
  // Scanned again: processes started meanwhile (new Postgres backends) count from zero.
  const after = groups(runnerPid);
  const per = (us: number) => Math.round(us / Math.max(1, result.requests));
  const cpu: Record<string, number> = {};
  for (const [g, list] of Object.entries(after)) {
    const ticks = list.reduce((s, pid) => s + ticksOf(pid) - (before.get(pid) ?? 0), 0);
    cpu[g] = per(ticks * TICK_US);
  }
  cpu.load_generator = per(selfUsed.user + selfUsed.system);
  return { result, cpu_us_per_request: cpu };
};

/** CPU per request summed over every group but the load generator (what the system itself spent). */
export const systemCpu = (cpu: Record<string, number>): number =>
  Object.entries(cpu)
    .filter(([k]) => k !== 'load_generator')
    .reduce((s, [, v]) => s + v, 0);

/** The header every bench report starts with: when, its label (BENCH_LABEL) and the machine. */
export const reportHeader = () => ({
  run_at: new Date().toISOString(),
  label: process.env.BENCH_LABEL ?? null,
  machine: { cpus: os.cpus().length, loadavg_1m_at_end: os.loadavg()[0], node: process.version },
});
