/**
 * The outbox relay's runs, shared by its handler and the stacks. EventBridge invokes it every `everyMs`;
 * a run polls the outbox for `runMs` and stops `safetyMarginMs` before its `timeoutMs`. A run outlasts two
 * ticks, so a late or lost tick still leaves a relay polling, and reserved concurrency admits every run
 * that can overlap (RELAY_RUNS_AT_ONCE). Overlapping relays are safe: a claim skips routes another holds.
 * Pure data: no process.env.
 */
export const RELAY_RUN = {
  everyMs: 60_000,
  runMs: 130_000,
  timeoutMs: 140_000,
  safetyMarginMs: 5000,
} as const;

/** The relay's reserved concurrency: every run that can be going at once. */
export const RELAY_RUNS_AT_ONCE = Math.ceil(RELAY_RUN.runMs / RELAY_RUN.everyMs);
