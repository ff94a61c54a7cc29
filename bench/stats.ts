/** Percentiles over a sample of durations (ms), sorted once. */
export const summarize = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    n: sorted.length,
    p50_ms: round(at(50)),
    p99_ms: round(at(99)),
    max_ms: round(sorted.at(-1) ?? Number.NaN),
  };
};

/** Runs `fn` `n` times sequentially after `warmup` untimed runs; returns per-call milliseconds. */
export const timeEach = async (
  n: number,
  warmup: number,
  fn: (i: number) => Promise<unknown>,
): Promise<number[]> => {
  for (let i = 0; i < warmup; i++) await fn(i);
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out[i] = performance.now() - t0;
  }
  return out;
};
