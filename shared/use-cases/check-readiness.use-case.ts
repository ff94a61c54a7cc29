export interface ReadinessProbe {
  readonly name: string;
  /** A critical probe failing makes the service not ready; the others are informational. */
  readonly critical: boolean;
  check(): Promise<Record<string, unknown> | undefined>;
}

export interface ProbeResult {
  readonly status: 'healthy' | 'unhealthy' | 'disabled';
  readonly message: string;
  readonly latency_ms?: number;
  readonly [extra: string]: unknown;
}

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Record<string, ProbeResult>;
}

const withDeadline = <T>(p: Promise<T>, ms: number): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(resolve, reject).finally(() => clearTimeout(timer));
  });

/**
 * Runs every probe in parallel, each bounded by `deadlineMs`, so the answer comes within the deadline
 * whatever is down. Ready means every critical probe passed.
 */
export const checkReadiness = async (
  probes: readonly ReadinessProbe[],
  deadlineMs: number,
): Promise<Readiness> => {
  const entries = await Promise.all(
    probes.map(async (probe): Promise<[string, ProbeResult, boolean]> => {
      const started = performance.now();
      try {
        const extra = await withDeadline(probe.check(), deadlineMs);
        const latency_ms = Math.round((performance.now() - started) * 10) / 10;
        return [
          probe.name,
          { status: 'healthy', message: `${probe.name} is accessible`, latency_ms, ...extra },
          true,
        ];
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        return [
          probe.name,
          { status: 'unhealthy', message: `${probe.name} check failed: ${reason}` },
          !probe.critical,
        ];
      }
    }),
  );
  return {
    ready: entries.every(([, , ok]) => ok),
    checks: Object.fromEntries(entries.map(([name, result]) => [name, result])),
  };
};
