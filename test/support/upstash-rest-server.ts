import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';

/**
 * A small Upstash-REST-compatible endpoint backed by a real Redis, so the Upstash adapter is tested
 * against real command semantics: POST / with ["CMD", ...args] → {result}; POST /pipeline with a list of
 * commands; Bearer token auth; `Upstash-Encoding: base64` for string results, as Upstash does.
 */
export const startUpstashRestServer = async (redisUrl: string, token: string) => {
  const redis = new Redis(redisUrl, { lazyConnect: false });
  const encode = (value: unknown, base64: boolean): unknown => {
    if (!base64) return value;
    if (typeof value === 'string') return value === 'OK' ? value : Buffer.from(value).toString('base64');
    if (Array.isArray(value)) return value.map((v) => encode(v, base64));
    return value;
  };
  const run = async (command: unknown, base64: boolean) => {
    if (!Array.isArray(command) || command.length === 0) return { error: 'ERR malformed command' };
    const [name, ...args] = command.map(String);
    try {
      return { result: encode(await redis.call(name!, ...args), base64) };
    } catch (err) {
      return { error: (err as Error).message };
    }
  };

  let requests = 0;
  const server: Server = createServer(async (req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, { error: 'Unauthorized' });
    const base64 = req.headers['upstash-encoding'] === 'base64';
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') as unknown;
    if (req.url === '/pipeline' || req.url === '/multi-exec') {
      return send(200, await Promise.all((body as unknown[]).map((c) => run(c, base64))));
    }
    const out = await run(body, base64);
    return send('error' in out ? 400 : 200, out);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: async () => {
      await new Promise<void>((ok) => server.close(() => ok()));
      redis.disconnect();
    },
  };
};
