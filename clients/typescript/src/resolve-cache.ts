/** How long resolve answers are kept in memory, and used. */
export interface ResolveCachePolicy {
  /**
   * An answer the API confirmed less than this long ago is used without asking (0: every resolve asks,
   * with `If-None-Match` when it has an answer). Past it, the next resolve revalidates.
   */
  readonly maxAgeMs: number;
  /** The same for "no active route" (a 404 has no ETag, so it is asked again in full). */
  readonly negativeMaxAgeMs: number;
  /**
   * When the API fails or times out, an answer it confirmed less than this long ago is served instead
   * (stale-if-error); an older one is not, and the caller gets the error.
   */
  readonly staleIfErrorMs: number;
  /** Routes remembered at most; the least recently stored goes first. */
  readonly maxEntries: number;
}

export const DEFAULT_RESOLVE_CACHE: ResolveCachePolicy = {
  maxAgeMs: 1_000,
  negativeMaxAgeMs: 1_000,
  staleIfErrorMs: 300_000,
  maxEntries: 10_000,
};

/** What a found route answer holds. */
export interface RouteAnswer {
  readonly url: string;
  /** The route's entity tag (`"7"`), sent back as `If-None-Match`. */
  readonly etag: string;
}

/** What the API last said about one key, and when it last confirmed it; `V` is what a found answer holds. */
export type CachedAnswer<V = RouteAnswer> =
  | (V & { readonly found: true; readonly confirmedAt: number })
  | { readonly found: false; readonly confirmedAt: number };

export type Lookup<V = RouteAnswer> =
  /** Use it as it is. */
  | { readonly state: 'fresh'; readonly answer: CachedAnswer<V> }
  /** Ask again: with `If-None-Match: etag` when `answer.found` (route answers). */
  | { readonly state: 'expired'; readonly answer: CachedAnswer<V> }
  | { readonly state: 'absent' };

/**
 * The in-process answer store behind `resolve` (and, with its own entries, `resolveByKey`): pure
 * bookkeeping over a clock, no I/O (the client decides what to send from `lookup` and tells the store what
 * came back).
 */
export class ResolveCache<V = RouteAnswer> {
  readonly #entries = new Map<string, CachedAnswer<V>>();

  constructor(
    private readonly policy: ResolveCachePolicy,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  lookup(key: string): Lookup<V> {
    const answer = this.#entries.get(key);
    if (!answer) return { state: 'absent' };
    const maxAge = answer.found ? this.policy.maxAgeMs : this.policy.negativeMaxAgeMs;
    return this.now() - answer.confirmedAt < maxAge
      ? { state: 'fresh', answer }
      : { state: 'expired', answer };
  }

  /** A 200 (found) or a 404 (not found) just now. */
  store(key: string, answer: (V & { readonly found: true }) | { readonly found: false }): CachedAnswer<V> {
    const stored = { ...answer, confirmedAt: this.now() } as CachedAnswer<V>;
    this.#entries.delete(key); // re-inserted last: eviction takes the least recently stored
    if (this.#entries.size >= this.policy.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, stored);
    return stored;
  }

  /** A 304 for `answer`: the same answer, confirmed now (stored again if it was evicted meanwhile). */
  confirm(key: string, answer: CachedAnswer<V> & { found: true }): CachedAnswer<V> {
    return this.store(key, answer);
  }

  /** The answer to serve while the API fails, if it was confirmed within `staleIfErrorMs`. */
  staleAnswer(key: string): { answer: CachedAnswer<V>; ageMs: number } | undefined {
    const answer = this.#entries.get(key);
    if (!answer) return undefined;
    const ageMs = this.now() - answer.confirmedAt;
    return ageMs <= this.policy.staleIfErrorMs ? { answer, ageMs } : undefined;
  }

  /** Every entry whose key starts with `prefix` (a write changed what they say). O(entries): writes only. */
  forgetPrefix(prefix: string): void {
    for (const key of this.#entries.keys()) if (key.startsWith(prefix)) this.#entries.delete(key);
  }

  forget(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}

/**
 * Concurrent calls for one key share one execution: the first runs it, the others wait for its result
 * (or its error). The key is free again as soon as it settles.
 */
export class SingleFlight<T> {
  readonly #inFlight = new Map<string, Promise<T>>();

  /** `onJoin` runs when the call joins one already in flight. */
  run(key: string, fn: () => Promise<T>, onJoin?: () => void): Promise<T> {
    const running = this.#inFlight.get(key);
    if (running) {
      onJoin?.();
      return running;
    }
    const started = fn().finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, started);
    return started;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }
}
