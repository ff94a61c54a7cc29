import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import net from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { BulkheadRejectedError, bulkhead } from 'cockatiel';
import type { GatewayResponseSpec } from '#functions/gateway-responses';
import {
  type FunctionId,
  HTTP_METHODS,
  type HttpRoute,
  httpRoutes,
  isPublic,
  lambdaFunctions,
  type Operation,
} from '#functions/route-table';
import { CORRELATION_HEADER, pickCorrelationId } from '#shared/middleware/correlation-id';
import { setHostStatusProvider } from '#shared/resilience/host-status';
import { lambdaContext, toApiGatewayEvent } from './api-gateway-event.ts';
import { type AuthMode, createLocalAuthorizer } from './local-authorizer.ts';
import type { ExtraRoute } from './metrics-endpoint.ts';
import { answerClientError, answerOnSocket, listenOn } from './socket-answer.ts';

type LambdaHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** After draining, how long kept-alive connections may still deliver a request already sent. */
const IDLE_GRACE_MS = 300;

/** Bodies larger than this are refused before reaching a handler (API Gateway has its own cap). */
const MAX_RAW_BODY = 1024 * 1024;

export interface LocalServerOptions {
  readonly host: string;
  readonly port: number;
  /** Extra plain routes served by the runner itself (e.g. GET /metrics). */
  readonly extraRoutes?: Record<string, ExtraRoute>;
  readonly onError?: (err: unknown) => void;
  /** `on`: the Lambda authorizer guards every non-public route, as in AWS; `off` (loopback only): none. */
  readonly auth: AuthMode;
  /** Concurrency limit and queue per operation type (the local stand-in for reserved concurrency). */
  readonly bulkheads: Record<Exclude<Operation, 'health'>, { limit: number; queue: number }>;
  readonly onBulkheadRejected?: (operation: Operation) => void;
}

export interface LocalServer {
  readonly server: Server;
  readonly url: string;
  inFlight(): number;
  /** Stop accepting, answer what is in flight, then close; resolves when drained or at the deadline. */
  drain(deadlineMs: number): Promise<{ drained: boolean; abandoned: number }>;
  readonly draining: boolean;
}

const sendJson = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) => {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
};

const sendGatewayResponse = (res: ServerResponse, spec: GatewayResponseSpec) =>
  sendJson(res, spec.status, { error: spec.error, message: spec.message }, { ...spec.headers });

/** The caller's correlation id if it is a safe one, else a new one: what the handlers answer with. */
const correlationIdOf = (req: IncomingMessage): string =>
  pickCorrelationId(req.headers as Record<string, string | undefined>);

const NO_BODY = Promise.resolve(null);

const readBody = (req: IncomingMessage): Promise<string | null | 'too_large'> => {
  // Without Content-Length or Transfer-Encoding a request has no body (RFC 9112 §6.3): most GETs.
  const { 'content-length': length, 'transfer-encoding': encoding } = req.headers;
  if (encoding === undefined && (length === undefined || length === '0')) return NO_BODY;
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RAW_BODY) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) resolveBody('too_large');
      else resolveBody(size === 0 ? null : Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
};

const loadHandlers = async (root: string): Promise<Map<FunctionId, LambdaHandler>> => {
  const handlers = new Map<FunctionId, LambdaHandler>();
  for (const [id, spec] of Object.entries(lambdaFunctions) as [
    FunctionId,
    (typeof lambdaFunctions)[FunctionId],
  ][]) {
    const mod = (await import(pathToFileURL(resolve(root, spec.entry)).href)) as Record<
      string,
      LambdaHandler
    >;
    const fn = mod[spec.handler];
    if (typeof fn !== 'function') throw new Error(`${spec.entry} does not export ${spec.handler}`);
    handlers.set(id, fn);
  }
  return handlers;
};

/** Serves the real Lambda handlers over HTTP, routed by the same table as the API Gateway stack. */
export const startLocalServer = async (root: string, options: LocalServerOptions): Promise<LocalServer> => {
  const handlers = await loadHandlers(root);
  const authorize = await createLocalAuthorizer(root, options.auth);
  const byPath = new Map<string, HttpRoute[]>();
  for (const route of httpRoutes) byPath.set(route.path, [...(byPath.get(route.path) ?? []), route]);

  let inFlight = 0;
  let draining = false;
  const pools = Object.fromEntries(
    Object.entries(options.bulkheads).map(([op, { limit, queue }]) => [op, bulkhead(limit, queue)]),
  ) as Record<string, ReturnType<typeof bulkhead>>;
  const rejected: Record<string, number> = {};
  setHostStatusProvider(() => ({
    draining,
    bulkheads: Object.fromEntries(
      Object.entries(pools).map(([op, pool]) => [
        op,
        {
          limit: options.bulkheads[op as keyof typeof options.bulkheads].limit,
          executing: options.bulkheads[op as keyof typeof options.bulkheads].limit - pool.executionSlots,
          queued: options.bulkheads[op as keyof typeof options.bulkheads].queue - pool.queueSlots,
          rejected_total: rejected[op] ?? 0,
        },
      ]),
    ),
  }));
  let drainedWaiter: (() => void) | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Every answer carries one, the runner's own included; a handler's answer sets its own (the same id).
    res.setHeader(CORRELATION_HEADER, correlationIdOf(req));
    if (draining) {
      res.setHeader('connection', 'close');
      if (url.pathname === '/health/ready') return sendJson(res, 503, { status: 'draining' });
    }
    const extra = options.extraRoutes?.[url.pathname];
    if (extra && req.method === 'GET') return extra(res, req);
    const candidates = byPath.get(url.pathname);
    if (!candidates)
      return sendJson(res, 404, { error: 'not_found', message: `no route for ${url.pathname}` });
    const route = candidates.find((r) => r.method === req.method);
    if (!route) {
      const allow = candidates.map((r) => r.method).join(', ');
      return sendJson(res, 405, { error: 'method_not_allowed', message: `use ${allow}` }, { allow });
    }
    // Like API Gateway, the authorizer runs before the integration: a refused call never reaches a handler.
    let authorizer: Readonly<Record<string, string>> | null = null;
    if (!isPublic(route)) {
      const auth = await authorize(req, url, route);
      if ('refusal' in auth) return sendGatewayResponse(res, auth.refusal);
      authorizer = auth.context;
    }
    const body = await readBody(req);
    if (body === 'too_large') {
      return sendJson(res, 413, {
        error: 'payload_too_large',
        message: `request body exceeds ${MAX_RAW_BODY} bytes`,
      });
    }
    const event = toApiGatewayEvent(req, url, route.path, body);
    if (authorizer) event.requestContext.authorizer = { ...authorizer };
    const invoke = () => handlers.get(route.fn)!(event, lambdaContext(route.fn));
    const pool = pools[route.operation];
    let result: APIGatewayProxyResult;
    try {
      result = pool ? await pool.execute(invoke) : await invoke();
    } catch (err) {
      if (!(err instanceof BulkheadRejectedError)) throw err;
      rejected[route.operation] = (rejected[route.operation] ?? 0) + 1;
      options.onBulkheadRejected?.(route.operation);
      return sendJson(
        res,
        503,
        {
          error: 'overloaded',
          message: `too many concurrent ${route.operation} requests; retry shortly`,
          operation: route.operation,
        },
        { 'retry-after': '1' },
      );
    }
    // A length, as API Gateway sends: one write per response instead of chunked framing.
    res.writeHead(result.statusCode, {
      ...(result.headers as Record<string, string>),
      'content-length': Buffer.byteLength(result.body),
    });
    res.end(result.body);
  };

  const server = createServer(
    { keepAliveTimeout: 5000, requestTimeout: 30_000, headersTimeout: 10_000 },
    (req, res) => {
      inFlight++;
      handle(req, res)
        .catch((err) => {
          options.onError?.(err);
          if (!res.headersSent)
            sendJson(res, 500, { error: 'internal_error', message: 'local runner error' });
          else res.destroy();
        })
        .finally(() => {
          inFlight--;
          if (draining && inFlight === 0) drainedWaiter?.();
        });
    },
  );

  server.on('clientError', answerClientError);
  // CONNECT (no route of ours): a JSON 405, on the bare socket node hands over; unanswered, it would hang.
  server.on('connect', (req, socket) => {
    const body = JSON.stringify({ error: 'method_not_allowed', message: 'CONNECT is not supported' });
    answerOnSocket(socket, 405, body, {
      allow: HTTP_METHODS.join(', '),
      [CORRELATION_HEADER]: correlationIdOf(req),
    });
  });
  // Node answers an Expect other than 100-continue with a bare 417; ours is JSON like every other answer.
  server.on('checkExpectation', (req, res) => {
    res.setHeader('connection', 'close');
    sendJson(
      res,
      417,
      { error: 'expectation_failed', message: 'only Expect: 100-continue is supported' },
      { [CORRELATION_HEADER]: correlationIdOf(req) },
    );
  });

  const url = await listenOn(server, options.host, options.port);

  return {
    server,
    url,
    inFlight: () => inFlight,
    get draining() {
      return draining;
    },
    async drain(deadlineMs) {
      draining = true;
      const deadline = Date.now() + deadlineMs;
      // Stop listening but keep open connections: Node's http close() would also drop idle keep-alive
      // connections, resetting a request a client is sending on one at that very moment. Instead every
      // response from now on says `Connection: close`, so clients leave after their current request.
      const closed = new Promise<void>((ok) => net.Server.prototype.close.call(server, () => ok()));
      const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, Math.max(0, ms)));
      const untilIdle = async (): Promise<void> => {
        if (inFlight === 0) return;
        const idle = new Promise<void>((ok) => (drainedWaiter = ok));
        await Promise.race([idle, sleep(deadline - Date.now())]);
      };
      // Answer what is in flight; then give requests already on the wire over kept-alive connections a
      // short grace (they are answered too, with `Connection: close`), until quiet or the deadline.
      do {
        await untilIdle();
        await sleep(Math.min(IDLE_GRACE_MS, deadline - Date.now()));
      } while (inFlight > 0 && Date.now() < deadline);
      const abandoned = inFlight;
      server.closeAllConnections();
      await closed;
      return { drained: abandoned === 0, abandoned };
    },
  };
};
