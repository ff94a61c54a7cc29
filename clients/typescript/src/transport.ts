import { setTimeout as delay } from 'node:timers/promises';
import {
  AbortedError,
  type ApiErrorBody,
  errorForStatus,
  type TrafficManagerError,
  UnavailableError,
} from './errors.ts';
import type { ClientEvent, ClientStats } from './events.ts';
import {
  backoffDelayMs,
  isRetryableStatus,
  parseRetryAfter,
  type RetryMode,
  type RetryPolicy,
} from './retry.ts';

export interface TransportOptions {
  readonly baseUrl: string;
  readonly token: string | undefined;
  /** A call's whole budget (every attempt and wait) unless the call names its own. */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly userAgent: string;
  readonly fetch: typeof globalThis.fetch;
  readonly now: () => number;
  readonly random: () => number;
  readonly sleep: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  readonly emit: ((event: ClientEvent) => void) | undefined;
  readonly stats: ClientStats;
}

export interface CallOptions {
  /** This call's budget in milliseconds, retries and their waits included. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Sent as `X-Correlation-ID` on every attempt (the API's logs carry it). */
  readonly correlationId?: string;
}

type QueryValue = string | number | boolean | null | undefined;

export interface RequestSpec extends CallOptions {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, QueryValue>>;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly retryMode: RetryMode;
  /** Statuses ≥ 300 that are answers here rather than errors (resolve: 304, 404). */
  readonly accept?: readonly number[];
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON; undefined for an empty body (304). */
  readonly body: unknown;
}

export const sleepFor = (ms: number, signal: AbortSignal | undefined): Promise<void> =>
  delay(ms, undefined, signal ? { signal } : undefined);

const CONNECT_REFUSED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

/** Was the request never delivered (nothing can have run on the server)? undici wraps the socket error. */
const neverSent = (err: unknown): boolean => {
  const cause = (err as { cause?: { code?: unknown; errors?: { code?: unknown }[] } })?.cause;
  if (typeof cause?.code === 'string' && CONNECT_REFUSED.has(cause.code)) return true;
  return (
    Array.isArray(cause?.errors) &&
    cause.errors.length > 0 &&
    cause.errors.every((e) => typeof e.code === 'string' && CONNECT_REFUSED.has(e.code))
  );
};

const describe = (err: unknown): string => {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
};

const parseBody = (text: string): unknown => {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 200) };
  }
};

/**
 * One logical call to the API: the same request (headers, Idempotency-Key, body) sent up to
 * `maxAttempts` times within the call's timeout, retried on network failures, 5xx and 429 (and a 409
 * `idempotency_in_progress`: the first attempt is still running), waiting full-jitter backoff or at least
 * `Retry-After`. Nothing here knows about particular endpoints.
 */
export class Transport {
  constructor(private readonly o: TransportOptions) {}

  url(path: string, query?: Readonly<Record<string, QueryValue>>): string {
    const url = new URL(
      path.replace(/^\//, ''),
      this.o.baseUrl.endsWith('/') ? this.o.baseUrl : `${this.o.baseUrl}/`,
    );
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    return url.toString();
  }

  async send(spec: RequestSpec): Promise<ApiResponse> {
    const { o } = this;
    const started = o.now();
    const budget = spec.timeoutMs ?? o.timeoutMs;
    const url = this.url(spec.path, spec.query);
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': o.userAgent,
      ...spec.headers,
    };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (spec.correlationId) headers['x-correlation-id'] = spec.correlationId;
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    if (body !== undefined) headers['content-type'] = 'application/json';

    for (let attempt = 1; ; attempt++) {
      const remaining = budget - (o.now() - started);
      if (remaining <= 0) throw this.fail(spec, this.timedOut(spec, budget, attempt - 1));
      const timeout = AbortSignal.timeout(remaining);
      const signal = spec.signal ? AbortSignal.any([spec.signal, timeout]) : timeout;
      o.stats.requests++;
      o.emit?.({ type: 'request', method: spec.method, path: spec.path, attempt });

      let failure: TrafficManagerError;
      let retryable: boolean;
      let retryAfterMs: number | null = null;
      let reason: number | 'network';
      try {
        const res = await o.fetch(url, { method: spec.method, headers, body, signal });
        const parsed = parseBody(await res.text());
        if (res.status < 300 || spec.accept?.includes(res.status)) {
          return { status: res.status, headers: res.headers, body: parsed };
        }
        retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), o.now());
        failure = errorForStatus(res.status, parsed as ApiErrorBody | undefined, {
          correlationId: res.headers.get('x-correlation-id'),
          retryAfterMs,
          attempts: attempt,
        });
        const inProgress = res.status === 409 && failure.code === 'idempotency_in_progress';
        retryable =
          res.status === 429 || (spec.retryMode === 'safe' && (isRetryableStatus(res.status) || inProgress));
        reason = res.status;
      } catch (err) {
        if (spec.signal?.aborted) {
          throw this.fail(
            spec,
            new AbortedError('aborted by the caller', 'aborted', { cause: err, attempts: attempt }),
          );
        }
        if (timeout.aborted) throw this.fail(spec, this.timedOut(spec, budget, attempt, err));
        failure = new UnavailableError(
          `${spec.method} ${spec.path}: API unreachable (${describe(err)})`,
          'unreachable',
          {
            cause: err,
            attempts: attempt,
          },
        );
        retryable = spec.retryMode === 'safe' || neverSent(err);
        reason = 'network';
      }

      if (!retryable || attempt >= o.retry.maxAttempts) throw this.fail(spec, failure);
      if (retryAfterMs !== null && retryAfterMs > o.retry.maxRetryAfterMs) throw this.fail(spec, failure);
      const wait = backoffDelayMs(attempt, o.retry, o.random, retryAfterMs);
      // Not worth starting a wait the budget cannot cover: fail now with what the API said.
      if (o.now() - started + wait >= budget) throw this.fail(spec, failure);
      o.stats.retries++;
      o.emit?.({ type: 'retry', method: spec.method, path: spec.path, attempt, delayMs: wait, reason });
      try {
        await o.sleep(wait, spec.signal);
      } catch (err) {
        throw this.fail(
          spec,
          new AbortedError('aborted by the caller', 'aborted', { cause: err, attempts: attempt }),
        );
      }
    }
  }

  private timedOut(spec: RequestSpec, budget: number, attempts: number, cause?: unknown): UnavailableError {
    return new UnavailableError(`${spec.method} ${spec.path}: no answer within ${budget} ms`, 'timeout', {
      attempts,
      ...(cause === undefined ? {} : { cause }),
    });
  }

  /** Every failed call is counted and reported once, whatever the caller then does with it. */
  private fail(spec: RequestSpec, error: TrafficManagerError): TrafficManagerError {
    this.o.stats.errors++;
    this.o.emit?.({ type: 'error', method: spec.method, path: spec.path, error });
    return error;
  }
}
