/**
 * At most one log line per cause per interval: a broker outage or a missing topic makes every client
 * fail several times a second, and one line a second with the number of repeats says as much.
 */
export type LogThrottle = (cause: string) => { readonly log: boolean; readonly repeated: number };

/** `repeated` is how many times the cause occurred unlogged since its previous logged line. */
export const logThrottle = (intervalMs = 1000, now: () => number = Date.now): LogThrottle => {
  const seen = new Map<string, { at: number; repeated: number }>();
  return (cause) => {
    const t = now();
    const entry = seen.get(cause);
    if (entry && t - entry.at < intervalMs) {
      entry.repeated++;
      return { log: false, repeated: 0 };
    }
    // Causes are few (error messages), but never let the map grow without bound.
    if (seen.size >= 1000) seen.clear();
    seen.set(cause, { at: t, repeated: 0 });
    return { log: true, repeated: entry?.repeated ?? 0 };
  };
};
