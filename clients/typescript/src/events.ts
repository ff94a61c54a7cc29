/** What the client reports through `onEvent`, one event per occurrence (cheap: no allocation when unused). */
export type ClientEvent =
  /** A request is about to be sent (every attempt). */
  | { readonly type: 'request'; readonly method: string; readonly path: string; readonly attempt: number }
  /** A failed attempt will be repeated after `delayMs`. */
  | {
      readonly type: 'retry';
      readonly method: string;
      readonly path: string;
      readonly attempt: number;
      readonly delayMs: number;
      /** The status that caused it, or `network` (no answer). */
      readonly reason: number | 'network';
    }
  /** A call failed after its retries (a resolve may still cover it with a stale answer: see `stale`). */
  | { readonly type: 'error'; readonly method: string; readonly path: string; readonly error: Error }
  /** resolve answered from memory without asking the API. */
  | { readonly type: 'hit'; readonly route: string; readonly found: boolean }
  /** resolve had nothing usable in memory and asked the API. */
  | { readonly type: 'miss'; readonly route: string }
  /** resolve asked with `If-None-Match`: 304 (`changed: false`) or a new answer (`changed: true`). */
  | { readonly type: 'revalidated'; readonly route: string; readonly changed: boolean }
  /** The API failed and resolve served its last good answer, confirmed `ageMs` ago. */
  | { readonly type: 'stale'; readonly route: string; readonly ageMs: number }
  /** A resolve joined a lookup of the same route already in flight. */
  | { readonly type: 'coalesced'; readonly route: string };

/** Running totals since the client was made (`client.stats()`). */
export interface ClientStats {
  /** Requests sent to the API, retries included. */
  requests: number;
  retries: number;
  /** Calls that failed after their retries (resolve counts one even when a stale answer covered it). */
  errors: number;
  /** resolve answered from memory (found or not found) without a request. */
  hits: number;
  /** resolve asked the API with nothing to revalidate. */
  misses: number;
  /** resolve revalidated and the API answered 304 (the answer was still current). */
  revalidations: number;
  /** resolve revalidated and the route had changed (a new URL, or now not found). */
  refreshes: number;
  /** resolve served a stale answer because the API failed. */
  staleAnswers: number;
  /** resolve calls that joined a lookup already in flight. */
  coalesced: number;
}

export const emptyStats = (): ClientStats => ({
  requests: 0,
  retries: 0,
  errors: 0,
  hits: 0,
  misses: 0,
  revalidations: 0,
  refreshes: 0,
  staleAnswers: 0,
  coalesced: 0,
});
