import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An extra route of a runner: the request comes second, so a handler that ignores it stays `(res) => …`. */
export type ExtraRoute = (res: ServerResponse, req: IncomingMessage) => Promise<void> | void;

export interface MetricsAccess {
  readonly auth: 'on' | 'off';
  /** METRICS_TOKEN: with auth on, the bearer token Prometheus scrapes with; unset, /metrics is not served. */
  readonly token?: string;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

const refuse = (res: ServerResponse, status: 401 | 404, error: string, message: string) => {
  const body = JSON.stringify({ error, message });
  if (!res.hasHeader('x-correlation-id')) res.setHeader('x-correlation-id', randomUUID());
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...(status === 401 ? { 'www-authenticate': 'Bearer realm="traffic-manager-metrics"' } : {}),
  });
  res.end(body);
};

/**
 * `/metrics` on the API's listener: open with auth off (loopback only, as the whole API is); with auth on
 * only to `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time), and without a METRICS_TOKEN
 * not served at all — a 404 like any path the API lacks. Counters are not tenant data, but they show the
 * whole system's traffic, so a caller with no business there must not read them.
 */
export const guardMetrics = (access: MetricsAccess, serve: ExtraRoute): ExtraRoute => {
  const expected = access.token ? digest(`Bearer ${access.token}`) : null;
  return (res, req) => {
    if (access.auth === 'off') return serve(res, req);
    if (!expected) return refuse(res, 404, 'not_found', 'no route for /metrics');
    const given = req.headers.authorization;
    if (typeof given !== 'string' || !timingSafeEqual(digest(given), expected)) {
      return refuse(res, 401, 'unauthorized', 'a valid metrics token is required');
    }
    return serve(res, req);
  };
};
