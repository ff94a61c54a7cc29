import { connect } from 'node:net';

export interface RawAnswer {
  readonly status: number;
  /** Lower-case names; a repeated header keeps its last value. */
  readonly headers: Map<string, string>;
  readonly body: string;
}

const dechunk = (chunked: string): string => {
  let out = '';
  let rest = chunked;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, eol), 16);
    if (!(size > 0)) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
};

/**
 * One request written as given (`head` without the blank line that ends it) on its own connection, for
 * what fetch cannot send: CR/LF or NUL in headers, two Authorization headers, CONNECT, TRACE. The head
 * should say `Connection: close`; the answer is read until the server closes.
 */
export const rawRequest = (
  baseUrl: string,
  head: string,
  payload = '',
  timeoutMs = 5_000,
): Promise<RawAnswer> =>
  new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(baseUrl).port), '127.0.0.1');
    let data = '';
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`no answer to ${JSON.stringify(head.slice(0, 60))}`));
    });
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const [top = '', ...rest] = data.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = top.split('\r\n');
      const headers = new Map(
        headerLines.map((l) => [
          l.slice(0, l.indexOf(':')).toLowerCase(),
          l.slice(l.indexOf(':') + 1).trim(),
        ]),
      );
      const payloadText = rest.join('\r\n\r\n');
      const body = headers.get('transfer-encoding') === 'chunked' ? dechunk(payloadText) : payloadText;
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
    // write, not end: a client that half-closes has its in-flight request aborted by Node's server.
    socket.write(`${head}\r\n\r\n${payload}`);
  });
