// The HTTP load the benchmarks put on a local API: autocannon after an unmeasured warmup, with the CPU each
// process group spent per request (bench/cpu.ts).
import autocannon from 'autocannon';
import { cpuPerRequest } from './cpu.ts';

export interface LoadSettings {
  /** The API's process: its CPU (and its children's) is reported apart from Postgres, Redis and Kafka. */
  readonly pid: number;
  readonly connections: number;
  /** Seconds run unmeasured first: the JVM (Kafka) and V8 compile their hot paths then. */
  readonly warmupS: number;
  readonly durationS: number;
}

export interface LoadResult {
  readonly req_per_s: number;
  /** Answers with a 2xx status per second (req_per_s counts every answer, fast refusals included). */
  readonly ok_per_s: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly non_2xx: number;
  /** Answers by status code, when any was not 2xx. */
  readonly statuses?: Readonly<Record<string, number>>;
  readonly errors: number;
  readonly timeouts: number;
  readonly cpu_us_per_request: Readonly<Record<string, number>>;
}

export const underLoad = async (settings: LoadSettings, opts: autocannon.Options): Promise<LoadResult> => {
  const { connections } = settings;
  if (settings.warmupS > 0) await autocannon({ connections, duration: settings.warmupS, ...opts });
  const { result, cpu_us_per_request } = await cpuPerRequest(settings.pid, async () => {
    const r = await autocannon({ connections, duration: settings.durationS, ...opts });
    return { r, requests: r.requests.total };
  });
  const { r } = result;
  const statuses = Object.fromEntries(
    Object.entries(r.statusCodeStats ?? {}).map(([code, s]) => [code, s.count ?? 0]),
  );
  return {
    req_per_s: Math.round(r.requests.average),
    ok_per_s: Math.round(r['2xx'] / Math.max(1, r.duration)),
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    non_2xx: r.non2xx,
    ...(r.non2xx > 0 ? { statuses } : {}),
    errors: r.errors,
    timeouts: r.timeouts,
    cpu_us_per_request,
  };
};
