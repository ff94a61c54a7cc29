import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * A JSON answer written straight to a socket, then the connection closes: for what node's HTTP server
 * hands over as a bare socket (a request it could not parse, CONNECT), where there is no ServerResponse.
 */
export const answerOnSocket = (
  socket: Duplex,
  status: number,
  body: string,
  headers: Readonly<Record<string, string>> = {},
): void => {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const lines = Object.entries({
    'content-type': 'application/json',
    ...headers,
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n${lines}\r\n${body}`);
};

/**
 * Malformed HTTP (bad framing, header names or values, e.g. a CR/LF smuggled into one): a JSON 400, or
 * 431 for oversized headers. The request could not be read, so its correlation id is a new one.
 */
export const answerClientError = (err: Error & { code?: string }, socket: Duplex): void => {
  if (err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const body = tooLarge
    ? { error: 'headers_too_large', message: 'request headers are too large' }
    : { error: 'malformed_request', message: 'malformed HTTP request' };
  answerOnSocket(socket, tooLarge ? 431 : 400, JSON.stringify(body), { 'x-correlation-id': randomUUID() });
};

/** Listens on host:port (0: the OS chooses) and resolves with the base URL actually bound. */
export const listenOn = async (server: Server, host: string, port: number): Promise<string> => {
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok());
  });
  const address = server.address();
  return `http://${host}:${typeof address === 'object' && address ? address.port : port}`;
};
