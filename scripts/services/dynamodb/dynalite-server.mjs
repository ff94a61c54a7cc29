/**
 * node dynalite-server.mjs --port <port> [--host <host>] [--path <dir>] [--exit-with-stdin]
 *
 * The local DynamoDB of scripts/services/services.ts: dynalite (DynamoDB's HTTP API on LevelDB), in this
 * process. --path keeps the data in a LevelDB directory (in memory without it). Plain JavaScript so that
 * plain `node` runs it: no TypeScript loader in a long-lived service process.
 *
 * On SIGTERM/SIGINT it closes the server and the LevelDB store cleanly, then exits. With --exit-with-stdin
 * it also does so when stdin closes: the parent holds the other end of that pipe, so a private instance
 * goes away with its parent even if the parent is SIGKILLed.
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

import dynalite from 'dynalite';

const CLOSE_DEADLINE_MS = 10_000;

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    path: { type: 'string' },
    'exit-with-stdin': { type: 'boolean', default: false },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port <= 0) {
  console.error(
    'usage: dynalite-server.mjs --port <port> [--host <host>] [--path <dir>] [--exit-with-stdin]',
  );
  process.exit(2);
}

if (values.path) {
  // dynalite opens its store lazily and dies on the first request if it cannot (another process holds the
  // LevelDB lock, say): open it once now, with dynalite's own `level`, to fail at start with the reason.
  const { Level } = createRequire(import.meta.resolve('dynalite'))('level');
  const store = new Level(values.path);
  try {
    await store.open();
  } catch (err) {
    console.error(`dynalite: cannot open ${values.path}: ${err.cause?.message ?? err.message}`);
    process.exit(1);
  }
  await store.close();
}

const server = dynalite(values.path ? { path: values.path } : {});

let closing = false;
const shutdown = (why) => {
  if (closing) return;
  closing = true;
  console.log(`dynalite: ${why}, closing`);
  // Keep-alive clients may hold connections open; do not let them block the store's close.
  const force = setTimeout(() => server.closeAllConnections(), 2000);
  const deadline = setTimeout(() => {
    console.error(`dynalite: not closed after ${CLOSE_DEADLINE_MS} ms, exiting anyway`);
    process.exit(1);
  }, CLOSE_DEADLINE_MS);
  server.close((err) => {
    clearTimeout(force);
    clearTimeout(deadline);
    if (err) console.error(`dynalite: close failed: ${err.message}`);
    process.exit(err ? 1 : 0);
  });
};

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
if (values['exit-with-stdin']) {
  process.stdin.on('close', () => shutdown('stdin closed'));
  process.stdin.resume();
}

server.on('error', (err) => {
  console.error(`dynalite: ${err.message}`);
  process.exit(1);
});
const where = values.path ? `data in ${values.path}` : 'in memory';
server.listen(port, values.host, () =>
  console.log(`dynalite listening on http://${values.host}:${port} (${where})`),
);
