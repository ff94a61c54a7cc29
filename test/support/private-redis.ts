import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });

/** A throw-away redis-server on its own port, for tests that slow down or kill their Redis. */
export const startPrivateRedis = async (fixedPort?: number) => {
  const port = fixedPort ?? (await freePort());
  const proc: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--enable-debug-command',
      'yes',
    ],
    {
      stdio: 'ignore',
    },
  );
  const { isListening } = await import('../../scripts/local/discover.ts');
  for (let i = 0; i < 200 && !(await isListening('127.0.0.1', port, 100)); i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  const { Redis } = await import('ioredis');
  const probe = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  probe.on('error', () => {});
  await probe.ping();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    /** Blocks the server for `ms` (DEBUG SLEEP), as an overloaded or stalled Redis would. */
    stall: (ms: number) => probe.call('DEBUG', 'SLEEP', String(ms / 1000)),
    stop: async () => {
      probe.disconnect();
      proc.kill('SIGKILL');
      await new Promise((r) => proc.once('exit', r));
    },
  };
};
