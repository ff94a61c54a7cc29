import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request that passed through the proxy, with the API's answer (status 0: none was given). */
export interface ProxiedExchange {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly receivedAt: number;
  status: number;
  responseHeaders: Record<string, string | string[] | undefined>;
}

/**
 * What the proxy does with the next requests: pass them on; hold them unanswered (a hung API); or pass
 * one on and, once the API has answered (so the write ran), drop the connection instead of answering.
 */
export type ProxyMode = 'forward' | 'hang' | 'drop-answer-once';

/**
 * A small HTTP proxy between a client under test and the real API: it counts and records every request
 * the client sends, and can be killed (connection refused) and started again on the same port, hang, or
 * lose an answer. The API behind it is the real runner; nothing is invented here.
 */
export class ClientProxy {
  readonly log: ProxiedExchange[] = [];
  mode: ProxyMode = 'forward';
  #server: Server | undefined;
  #sockets = new Set<Socket>();
  #port = 0;

  constructor(private readonly target: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Listens (again) on the port it had, or an OS-chosen one the first time. */
  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const exchange: ProxiedExchange = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        receivedAt: Date.now(),
        status: 0,
        responseHeaders: {},
      };
      this.log.push(exchange);
      if (this.mode === 'hang') return; // never answered; the socket is destroyed on kill()
      const drop = this.mode === 'drop-answer-once';
      if (drop) this.mode = 'forward';
      const upstream = request(
        new URL(exchange.path, this.target),
        { method: req.method, headers: req.headers },
        (answer) => {
          exchange.status = answer.statusCode ?? 0;
          exchange.responseHeaders = answer.headers;
          if (drop) {
            answer.resume();
            answer.once('end', () => req.socket.destroy());
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.once('error', () => {
        // The API is down behind a live proxy: what a load balancer or API Gateway answers.
        exchange.status = 502;
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Bad Gateway' }));
      });
      req.pipe(upstream);
    });
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
    return this;
  }

  /** Stops listening and cuts every connection: the client's next request is refused. */
  async kill(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Requests whose path starts with `prefix`, from index `from` of the log on. */
  requests(prefix: string, from = 0): ProxiedExchange[] {
    return this.log.slice(from).filter((e) => e.path.startsWith(prefix));
  }
}
