import { randomUUID } from 'node:crypto';
import type {
  ApiPath,
  AuditByActionQuery,
  AuditByTimeRangeQuery,
  AuditPage,
  BatchRoutesBody,
  BatchRoutesResponse,
  CreateRouteBody,
  CreateTokenBody,
  Health,
  ListRoutesQuery,
  ListTokensQuery,
  Liveness,
  OpenApiDocument,
  OperationId,
  PutSplitBody,
  Readiness,
  RecentAuditQuery,
  Resilience,
  RevokeTokenBody,
  RollbackRouteBody,
  Route,
  RouteAuditQuery,
  RouteDetail,
  RouteKey,
  RouteList,
  RouteWriteResponse,
  ServiceKey,
  Split,
  SplitDeleted,
  SplitResolution,
  SplitWriteResponse,
  TokenAuditPage,
  TokenAuditQuery,
  TokenCreated,
  TokenList,
  TokenRevoked,
} from './api.ts';
import { AbortedError, type TrafficManagerError } from './errors.ts';
import { type ClientEvent, type ClientStats, emptyStats } from './events.ts';
import {
  type CachedAnswer,
  DEFAULT_RESOLVE_CACHE,
  ResolveCache,
  type ResolveCachePolicy,
  SingleFlight,
} from './resolve-cache.ts';
import { DEFAULT_RETRY, type RetryMode, type RetryPolicy } from './retry.ts';
import { type CallOptions, type RequestSpec, sleepFor, Transport } from './transport.ts';

export interface ClientOptions {
  /** The API's base URL, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/prod` or `http://127.0.0.1:8000`. */
  readonly baseUrl: string;
  /** An API token (`Authorization: Bearer …`); none when the API runs with auth off. */
  readonly token?: string;
  /** A call's budget, retries included, unless the call names its own (default 5 s). */
  readonly timeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly cache?: Partial<ResolveCachePolicy>;
  /** Called for every request, retry, error, cache hit, revalidation, stale answer and coalesced lookup. */
  readonly onEvent?: (event: ClientEvent) => void;
  readonly userAgent?: string;
  /** For tests: the transport and the clock. */
  readonly fetch?: typeof globalThis.fetch;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

/** A resolve answer and where it came from. */
export interface ResolvedRoute {
  readonly url: string;
  /** The route's entity tag (`"7"`): its revision. */
  readonly etag: string;
  /**
   * `cache`: from memory, confirmed within `maxAgeMs`; `revalidated`: the API answered 304; `api`: a new
   * answer from the API; `stale`: the API failed and this answer was confirmed within `staleIfErrorMs`.
   */
  readonly source: 'cache' | 'revalidated' | 'api' | 'stale';
}

/**
 * A resolve without a version: the version the service's split chose. No ETag: such answers cannot be
 * revalidated, only asked again.
 */
export interface ResolvedVersion {
  readonly url: string;
  readonly version: string;
  /** The split's revision the choice was made under. */
  readonly splitRevision: number;
  /** true when chosen by the key (the same key gets the same version while the weights stand). */
  readonly sticky: boolean;
  /**
   * `cache`: from memory, asked within `maxAgeMs`; `api`: a new answer; `stale`: the API failed and this
   * answer was received within `staleIfErrorMs`. Answers without a key are random: never cached.
   */
  readonly source: 'cache' | 'api' | 'stale';
}

export interface ResolveByKeyOptions extends CallOptions {
  /**
   * The caller's stickiness key (a user or session id), sent as `X-Route-Key` (it stays out of URLs and
   * access logs). Without one the API picks at random by weight, and the answer is not cached.
   */
  readonly key?: string;
}

export interface WriteOptions extends CallOptions {
  /** Change the route only if it is still at this revision (a number, or an ETag such as `"7"`): else 412. */
  readonly ifMatch?: number | string;
  /**
   * Sent on every attempt of this write, so a retry after a lost answer replays the first outcome instead
   * of writing twice. Generated per call when not given.
   */
  readonly idempotencyKey?: string;
}

/**
 * The client method of every operation in docs/openapi.json: a new operation fails tsc here until the
 * client serves it (test/unit/client/generated-types.test.ts checks the document's list at run time).
 */
export const OPERATION_METHODS = {
  resolveRoute: 'resolve',
  listRoutes: 'listRoutes',
  batchRoutes: 'batchRoutes',
  getSplit: 'getSplit',
  putSplit: 'putSplit',
  deleteSplit: 'deleteSplit',
  getRoute: 'getRoute',
  createRoute: 'createRoute',
  activateRoute: 'activateRoute',
  deactivateRoute: 'deactivateRoute',
  rollbackRoute: 'rollbackRoute',
  getRouteAudit: 'getRouteAudit',
  getRecentAudit: 'getRecentAudit',
  getAuditByAction: 'getAuditByAction',
  getAuditByTimeRange: 'getAuditByTimeRange',
  createToken: 'createToken',
  listTokens: 'listTokens',
  revokeToken: 'revokeToken',
  getTokenAudit: 'getTokenAudit',
  getHealth: 'getHealth',
  getLiveness: 'getLiveness',
  getReadiness: 'getReadiness',
  getResilience: 'getResilience',
  getOpenApi: 'getOpenApi',
} as const satisfies Record<OperationId, keyof TrafficManagerClient>;

/** What a cached resolve-without-version answer holds. */
interface SplitAnswer {
  readonly url: string;
  readonly version: string;
  readonly splitRevision: number;
}

/** Length-prefixed, so no four names can spell another four's key (and cheaper than JSON on the hot path). */
const routeCacheKey = (k: RouteKey): string =>
  `${k.tenant.length}:${k.tenant}${k.service.length}:${k.service}${k.env.length}:${k.env}${k.version}`;
/** Every split answer of a service starts with this (the route key's shape, without the version). */
const serviceCacheKey = (k: ServiceKey): string =>
  `${k.tenant.length}:${k.tenant}${k.service.length}:${k.service}${k.env.length}:${k.env}`;
const serviceOf = (k: ServiceKey): ServiceKey => ({ tenant: k.tenant, service: k.service, env: k.env });
const serviceLabel = (k: ServiceKey): string => `${k.tenant}/${k.service}/${k.env}`;
const routeLabel = (k: RouteKey): string => `${k.tenant}/${k.service}/${k.env}/${k.version}`;
const keyOf = (k: RouteKey): RouteKey => ({
  tenant: k.tenant,
  service: k.service,
  env: k.env,
  version: k.version,
});
const etagOf = (ifMatch: number | string): string =>
  typeof ifMatch === 'number' || /^\d+$/.test(ifMatch) ? `"${ifMatch}"` : ifMatch;

/** `promise`, or an AbortedError as soon as `signal` aborts (the promise itself runs on). */
const untilAborted = <T>(promise: Promise<T>, signal: AbortSignal): Promise<T> => {
  if (signal.aborted) return Promise.reject(new AbortedError('aborted by the caller', 'aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(new AbortedError('aborted by the caller', 'aborted', { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
};

/** `resolve` errors that mean "the API is failing" (stale answers may cover them), not "you asked wrong". */
const isOutage = (err: TrafficManagerError): boolean =>
  err.code === 'timeout' ||
  err.code === 'unreachable' ||
  err.status === 429 ||
  (err.status !== undefined && err.status >= 500);

/**
 * The Traffic Manager API, typed. Every call has a timeout and retries (see `RetryPolicy`); writes carry
 * an Idempotency-Key; `resolve` answers from an in-process cache it revalidates with ETags.
 */
export class TrafficManagerClient {
  readonly #transport: Transport;
  readonly #cache: ResolveCache;
  readonly #flights = new SingleFlight<ResolvedRoute | null>();
  /** Resolve-without-version answers with a key, per (tenant, service, env, key): no ETag to revalidate. */
  readonly #splitCache: ResolveCache<SplitAnswer>;
  readonly #splitFlights = new SingleFlight<ResolvedVersion | null>();
  readonly #stats = emptyStats();
  readonly #emit: ((event: ClientEvent) => void) | undefined;

  constructor(options: ClientOptions) {
    const now = options.now ?? Date.now;
    this.#emit = options.onEvent;
    this.#cache = new ResolveCache({ ...DEFAULT_RESOLVE_CACHE, ...options.cache }, now);
    this.#splitCache = new ResolveCache<SplitAnswer>({ ...DEFAULT_RESOLVE_CACHE, ...options.cache }, now);
    this.#transport = new Transport({
      baseUrl: options.baseUrl,
      token: options.token,
      timeoutMs: options.timeoutMs ?? 5_000,
      retry: { ...DEFAULT_RETRY, ...options.retry },
      userAgent: options.userAgent ?? 'traffic-manager-client/0.1',
      fetch: options.fetch ?? globalThis.fetch,
      now,
      random: options.random ?? Math.random,
      sleep: options.sleep ?? sleepFor,
      emit: options.onEvent,
      stats: this.#stats,
    });
  }

  /** Counters since the client was made (a copy). */
  stats(): ClientStats {
    return { ...this.#stats };
  }

  /** Drops every remembered resolve answer. */
  clearCache(): void {
    this.#cache.clear();
    this.#splitCache.clear();
  }

  /**
   * The active route's URL, or null when there is none (404). From memory while the last answer is
   * younger than `maxAgeMs`; else asks the API with `If-None-Match` (one request however many callers
   * ask for the route at once); when the API fails, the last answer it confirmed within `staleIfErrorMs`.
   * Concurrent callers share the first one's request, and with it its timeout; a caller's `signal` ends
   * only its own wait.
   */
  resolve(route: RouteKey, options: CallOptions = {}): Promise<ResolvedRoute | null> {
    const key = routeCacheKey(route);
    const lookup = this.#cache.lookup(key);
    if (lookup.state === 'fresh') {
      this.#stats.hits++;
      this.#emit?.({ type: 'hit', route: routeLabel(route), found: lookup.answer.found });
      return Promise.resolve(
        lookup.answer.found ? { url: lookup.answer.url, etag: lookup.answer.etag, source: 'cache' } : null,
      );
    }
    const previous = lookup.state === 'expired' ? lookup.answer : undefined;
    // The shared lookup never carries one caller's signal: an abort ends that caller's wait only.
    const { signal, ...shared } = options;
    const flight = this.#flights.run(
      key,
      () => this.#fetchResolve(route, key, routeLabel(route), previous, shared),
      () => {
        this.#stats.coalesced++;
        this.#emit?.({ type: 'coalesced', route: routeLabel(route) });
      },
    );
    return signal ? untilAborted(flight, signal) : flight;
  }

  async #fetchResolve(
    route: RouteKey,
    key: string,
    label: string,
    previous: CachedAnswer | undefined,
    options: CallOptions,
  ): Promise<ResolvedRoute | null> {
    if (!previous) {
      this.#stats.misses++;
      this.#emit?.({ type: 'miss', route: label });
    }
    let res: Awaited<ReturnType<Transport['send']>>;
    try {
      res = await this.#transport.send({
        ...options,
        method: 'GET',
        path: '/api/v1/routes/resolve',
        query: { ...keyOf(route) },
        headers: previous?.found && previous.etag ? { 'if-none-match': previous.etag } : {},
        retryMode: 'safe',
        accept: [304, 404],
      });
    } catch (err) {
      const stale = isOutage(err as TrafficManagerError) ? this.#cache.staleAnswer(key) : undefined;
      if (!stale) throw err;
      this.#stats.staleAnswers++;
      this.#emit?.({ type: 'stale', route: label, ageMs: stale.ageMs });
      const { answer } = stale;
      return answer.found ? { url: answer.url, etag: answer.etag, source: 'stale' } : null;
    }
    if (res.status === 304 && previous?.found) {
      this.#cache.confirm(key, previous);
      this.#stats.revalidations++;
      this.#emit?.({ type: 'revalidated', route: label, changed: false });
      return { url: previous.url, etag: previous.etag, source: 'revalidated' };
    }
    if (previous) {
      this.#stats.refreshes++;
      this.#emit?.({ type: 'revalidated', route: label, changed: true });
    }
    if (res.status === 404) {
      this.#cache.store(key, { found: false });
      return null;
    }
    const url = (res.body as { url?: unknown } | undefined)?.url;
    const etag = res.headers.get('etag');
    if (res.status !== 200 || typeof url !== 'string') {
      throw new TypeError(`resolve ${label}: unexpected answer ${res.status} ${JSON.stringify(res.body)}`);
    }
    // Without an ETag (an old API) the answer is kept for maxAgeMs and then asked for in full.
    this.#cache.store(key, { found: true, url, etag: etag ?? '' });
    return { url, etag: etag ?? '', source: 'api' };
  }

  /**
   * `GET /api/v1/routes/resolve` without a version: the URL of the version the service's split chooses
   * for `options.key`, or null when the service has no split (404 `no_split`).
   *
   * These answers carry no ETag, so they are not revalidated. With a key, the answer is kept per
   * (tenant, service, env, key) for `maxAgeMs` (a 404 for `negativeMaxAgeMs`) and served for
   * `staleIfErrorMs` while the API fails; concurrent callers with the same key share one request. A
   * weight change therefore reaches this process within `maxAgeMs`, as a route change does. Without a key
   * the choice is random by weight on every call: nothing is cached and nothing stale is served.
   * This client's own writes (split or route) of the service drop its remembered answers.
   */
  resolveByKey(service: ServiceKey, options: ResolveByKeyOptions = {}): Promise<ResolvedVersion | null> {
    const { key, signal, ...shared } = options;
    const label = serviceLabel(service);
    if (key === undefined) {
      const call = this.#fetchResolveByKey(service, undefined, undefined, label, shared);
      return signal ? untilAborted(call, signal) : call;
    }
    const cacheKey = serviceCacheKey(service) + key;
    const lookup = this.#splitCache.lookup(cacheKey);
    if (lookup.state === 'fresh') {
      this.#stats.hits++;
      this.#emit?.({ type: 'hit', route: label, found: lookup.answer.found });
      const { answer } = lookup;
      return Promise.resolve(answer.found ? resolvedVersion(answer, true, 'cache') : null);
    }
    const flight = this.#splitFlights.run(
      cacheKey,
      () => this.#fetchResolveByKey(service, key, cacheKey, label, shared),
      () => {
        this.#stats.coalesced++;
        this.#emit?.({ type: 'coalesced', route: label });
      },
    );
    return signal ? untilAborted(flight, signal) : flight;
  }

  async #fetchResolveByKey(
    service: ServiceKey,
    key: string | undefined,
    cacheKey: string | undefined,
    label: string,
    options: CallOptions,
  ): Promise<ResolvedVersion | null> {
    this.#stats.misses++;
    this.#emit?.({ type: 'miss', route: label });
    let res: Awaited<ReturnType<Transport['send']>>;
    try {
      res = await this.#transport.send({
        ...options,
        method: 'GET',
        path: '/api/v1/routes/resolve',
        query: { ...serviceOf(service) },
        // A header keeps the key (often a user id) out of URLs and access logs.
        headers: key === undefined ? {} : { 'x-route-key': key },
        retryMode: 'safe',
        accept: [404],
      });
    } catch (err) {
      const stale =
        cacheKey !== undefined && isOutage(err as TrafficManagerError)
          ? this.#splitCache.staleAnswer(cacheKey)
          : undefined;
      if (!stale) throw err;
      this.#stats.staleAnswers++;
      this.#emit?.({ type: 'stale', route: label, ageMs: stale.ageMs });
      return stale.answer.found ? resolvedVersion(stale.answer, true, 'stale') : null;
    }
    if (res.status === 404) {
      if (cacheKey !== undefined) this.#splitCache.store(cacheKey, { found: false });
      return null;
    }
    const body = res.body as Partial<SplitResolution> | undefined;
    if (
      res.status !== 200 ||
      typeof body?.url !== 'string' ||
      typeof body.version !== 'string' ||
      typeof body.split_revision !== 'number'
    ) {
      throw new TypeError(`resolve ${label}: unexpected answer ${res.status} ${JSON.stringify(res.body)}`);
    }
    const answer: SplitAnswer = { url: body.url, version: body.version, splitRevision: body.split_revision };
    const sticky = body.sticky === true;
    if (cacheKey !== undefined && sticky) this.#splitCache.store(cacheKey, { found: true, ...answer });
    return resolvedVersion(answer, sticky, 'api');
  }

  /** `GET /api/v1/routes`: one page of a tenant's routes (pass `next_cursor` back as `cursor`). */
  async listRoutes(query: ListRoutesQuery, options: CallOptions = {}): Promise<RouteList> {
    return this.#get<RouteList>('/api/v1/routes', { ...query }, options);
  }

  /** Every route matching `query`, page after page. */
  async *listAllRoutes(
    query: Omit<ListRoutesQuery, 'cursor'>,
    options: CallOptions = {},
  ): AsyncGenerator<Route> {
    let cursor: string | undefined;
    do {
      const page = await this.listRoutes({ ...query, ...(cursor ? { cursor } : {}) }, options);
      yield* page.routes;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }

  /** `GET /api/v1/routes/detail`: one route, active or not; NotFoundError when it does not exist. */
  async getRoute(route: RouteKey, options: CallOptions = {}): Promise<RouteDetail> {
    return this.#get<RouteDetail>('/api/v1/routes/detail', { ...keyOf(route) }, options);
  }

  /**
   * `POST /api/v1/routes`: create the route, or change its URL. `createOnly` sends `If-None-Match: *`
   * (412 when it exists); `ifMatch` makes the change conditional on the route's revision.
   */
  async createRoute(
    body: CreateRouteBody,
    options: WriteOptions & { readonly createOnly?: boolean } = {},
  ): Promise<RouteWriteResponse> {
    const { createOnly, ...rest } = options;
    return this.#routeWrite('/api/v1/routes', body, rest, createOnly ? { 'if-none-match': '*' } : {});
  }

  /**
   * `POST /api/v1/routes/batch`: 1–500 creates, activations and deactivations in one transaction, all or
   * nothing. A refused batch throws the status's error with every failing operation in
   * `err.body.failures` (`{index, error, message}`). One Idempotency-Key per call, the same on its retries.
   */
  async batchRoutes(
    body: BatchRoutesBody,
    options: Omit<WriteOptions, 'ifMatch'> = {},
  ): Promise<BatchRoutesResponse> {
    return this.#write<BatchRoutesResponse>(
      { method: 'POST', path: '/api/v1/routes/batch', body },
      options,
      {},
      () => {
        for (const op of body.operations) this.#forgetRoute(op);
      },
    );
  }

  async activateRoute(route: RouteKey, options: WriteOptions = {}): Promise<RouteWriteResponse> {
    return this.#routeWrite('/api/v1/routes/activate', keyOf(route), options);
  }

  async deactivateRoute(route: RouteKey, options: WriteOptions = {}): Promise<RouteWriteResponse> {
    return this.#routeWrite('/api/v1/routes/deactivate', keyOf(route), options);
  }

  /**
   * Restores the state before the latest change (or at `to_revision`) as a new revision; ConflictError
   * (`nothing_to_roll_back`) when there is none.
   */
  async rollbackRoute(body: RollbackRouteBody, options: WriteOptions = {}): Promise<RouteWriteResponse> {
    return this.#routeWrite('/api/v1/routes/rollback', body, options);
  }

  /** `GET /api/v1/splits`: the service's split with its revision; NotFoundError (`no_split`) when none. */
  async getSplit(service: ServiceKey, options: CallOptions = {}): Promise<Split> {
    return this.#get<Split>('/api/v1/splits', { ...serviceOf(service) }, options);
  }

  /**
   * `PUT /api/v1/splits`: set the service's weights (integers summing to 100, each naming an active
   * route; else ConflictError `version_unavailable`). `createOnly` sends `If-None-Match: *` (412 when a
   * split exists); `ifMatch` makes the change conditional on the split's revision.
   */
  async putSplit(
    body: PutSplitBody,
    options: WriteOptions & { readonly createOnly?: boolean } = {},
  ): Promise<SplitWriteResponse> {
    const { createOnly, ...rest } = options;
    return this.#write<SplitWriteResponse>(
      { method: 'PUT', path: '/api/v1/splits', body },
      rest,
      createOnly ? { 'if-none-match': '*' } : {},
      () => this.#splitCache.forgetPrefix(serviceCacheKey(body)),
    );
  }

  /** `DELETE /api/v1/splits`: resolve without a version answers 404 `no_split` afterwards. */
  async deleteSplit(service: ServiceKey, options: WriteOptions = {}): Promise<SplitDeleted> {
    return this.#write<SplitDeleted>(
      { method: 'DELETE', path: '/api/v1/splits', query: { ...serviceOf(service) } },
      options,
      {},
      () => this.#splitCache.forgetPrefix(serviceCacheKey(service)),
    );
  }

  /** `GET /api/v1/audit/route`: a route's changes, newest first. */
  async getRouteAudit(query: RouteAuditQuery, options: CallOptions = {}): Promise<AuditPage> {
    return this.#get<AuditPage>('/api/v1/audit/route', { ...query }, options);
  }

  /** `GET /api/v1/audit/recent`: changes of the last `days` (default 7), newest first. */
  async getRecentAudit(query: RecentAuditQuery = {}, options: CallOptions = {}): Promise<AuditPage> {
    return this.#get<AuditPage>('/api/v1/audit/recent', { ...query }, options);
  }

  async getAuditByAction(query: AuditByActionQuery, options: CallOptions = {}): Promise<AuditPage> {
    return this.#get<AuditPage>('/api/v1/audit/action', { ...query }, options);
  }

  /** `start` and `end` are ISO-8601 instants (`2026-01-31T12:00:00Z`). */
  async getAuditByTimeRange(query: AuditByTimeRangeQuery, options: CallOptions = {}): Promise<AuditPage> {
    return this.#get<AuditPage>('/api/v1/audit/time-range', { ...query }, options);
  }

  /**
   * `POST /api/v1/admin/tokens` (admin): the answer holds the secret, shown this once. Token creation is
   * not deduplicated by the API, so it is retried only when it surely did not run (429, connection refused).
   */
  async createToken(body: CreateTokenBody, options: CallOptions = {}): Promise<TokenCreated> {
    return this.#post<TokenCreated>('/api/v1/admin/tokens', body, 'unsafe', options);
  }

  async listTokens(query: ListTokensQuery = {}, options: CallOptions = {}): Promise<TokenList> {
    return this.#get<TokenList>('/api/v1/admin/tokens', { ...query }, options);
  }

  /** Revoking twice is harmless (`outcome: unchanged`), so it is retried like a read. */
  async revokeToken(body: RevokeTokenBody, options: CallOptions = {}): Promise<TokenRevoked> {
    return this.#post<TokenRevoked>('/api/v1/admin/tokens/revoke', body, 'safe', options);
  }

  async getTokenAudit(query: TokenAuditQuery = {}, options: CallOptions = {}): Promise<TokenAuditPage> {
    return this.#get<TokenAuditPage>('/api/v1/admin/tokens/audit', { ...query }, options);
  }

  /** `GET /health` (public). */
  async getHealth(options: CallOptions = {}): Promise<Health> {
    return this.#get<Health>('/health', {}, options);
  }

  async getLiveness(options: CallOptions = {}): Promise<Liveness> {
    return this.#get<Liveness>('/health/live', {}, options);
  }

  /** `GET /health/ready`: `not_ready` (503) is an answer here, not an error. */
  async getReadiness(options: CallOptions = {}): Promise<Readiness> {
    return this.#send<Readiness>(options, {
      method: 'GET',
      path: '/health/ready',
      retryMode: 'safe',
      accept: [503],
    });
  }

  async getResilience(options: CallOptions = {}): Promise<Resilience> {
    return this.#get<Resilience>('/health/resilience', {}, options);
  }

  /** `GET /openapi.json`: the document these types were generated from, as the API serves it now. */
  async getOpenApi(options: CallOptions = {}): Promise<OpenApiDocument> {
    return this.#get<OpenApiDocument>('/openapi.json', {}, options);
  }

  /** One call whose answer is its body: the caller's options, then what the method fixes. */
  async #send<T>(options: CallOptions, request: Omit<RequestSpec, keyof CallOptions>): Promise<T> {
    const res = await this.#transport.send({ ...options, ...request });
    return res.body as T;
  }

  async #get<T>(path: ApiPath, query: RequestSpec['query'], options: CallOptions): Promise<T> {
    return this.#send<T>(options, { method: 'GET', path, query, retryMode: 'safe' });
  }

  /** `retryMode`: `safe` when doing it twice is harmless, `unsafe` when only a surely unsent one may be retried. */
  async #post<T>(path: ApiPath, body: unknown, retryMode: RetryMode, options: CallOptions): Promise<T> {
    return this.#send<T>(options, { method: 'POST', path, body, retryMode });
  }

  /** A route write: this process's next resolve of the route, and of its service by key, asks the API. */
  async #routeWrite(
    path: ApiPath,
    body: RouteKey,
    options: WriteOptions,
    extraHeaders: Record<string, string> = {},
  ): Promise<RouteWriteResponse> {
    return this.#write<RouteWriteResponse>({ method: 'POST', path, body }, options, extraHeaders, () =>
      this.#forgetRoute(body),
    );
  }

  #forgetRoute(route: RouteKey): void {
    this.#cache.forget(routeCacheKey(route));
    // A split's answers carry the chosen version's URL: they may have changed too.
    this.#splitCache.forgetPrefix(serviceCacheKey(route));
  }

  async #write<T>(
    request: Pick<RequestSpec, 'method' | 'path' | 'body' | 'query'> & { readonly path: ApiPath },
    options: WriteOptions,
    extraHeaders: Record<string, string>,
    forget: () => void,
  ): Promise<T> {
    const { ifMatch, idempotencyKey, ...call } = options;
    const headers: Record<string, string> = {
      // One key per logical write, the same on every retry of it.
      'idempotency-key': idempotencyKey ?? randomUUID(),
      ...extraHeaders,
    };
    if (ifMatch !== undefined) headers['if-match'] = etagOf(ifMatch);
    try {
      return await this.#send<T>(call, { ...request, headers, retryMode: 'safe' });
    } finally {
      // Whatever happened, this process's next resolve of what was written asks the API: read your own writes.
      forget();
    }
  }
}

const resolvedVersion = (
  answer: SplitAnswer,
  sticky: boolean,
  source: ResolvedVersion['source'],
): ResolvedVersion => ({
  url: answer.url,
  version: answer.version,
  splitRevision: answer.splitRevision,
  sticky,
  source,
});
