import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Imports the resolve function in a fresh process, calls it once, and reports which async hooks were
 * installed on the way. aws-xray-sdk-core (under the Powertools Tracer) installs one with a destroy
 * callback (cls-hooked), which makes Node track every promise: it halved the local API's throughput.
 */
const hooksAfterOneResolve = (tracing: 'xray' | 'off') => {
  const script = `
    import ah from 'node:async_hooks';
    const hooks = [];
    const createHook = ah.createHook;
    ah.createHook = (callbacks) => { hooks.push(Object.keys(callbacks).sort().join(',')); return createHook(callbacks); };
    const { handler } = await import('#functions/routes/resolve-route.handler');
    const res = await handler(
      { httpMethod: 'GET', path: '/health', headers: {}, queryStringParameters: { tenant: '-' },
        requestContext: { authorizer: { principal: 'anonymous', role: 'admin', tenants: '*', tokenId: '', expiresAt: '' } } },
      { getRemainingTimeInMillis: () => 3000, awsRequestId: 'x' });
    console.log(JSON.stringify({ hooks, status: res.statusCode }));
    process.exit(0);`;
  const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: {
      ...process.env,
      TRACING: tracing,
      LOG_LEVEL: 'SILENT',
      METRICS_BACKEND: 'none',
      CACHE_BACKEND: 'none',
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(out.status, out.stderr).toBe(0);
  return JSON.parse(out.stdout.trim().split('\n').at(-1)!) as { hooks: string[]; status: number };
};

describe('tracing', () => {
  it('loads nothing of the X-Ray SDK when off: no async hook tracks promise destruction', () => {
    const { hooks, status } = hooksAfterOneResolve('off');
    expect(status).toBe(400); // the malformed key answered, so the chain ran
    expect(hooks.filter((h) => h.includes('destroy'))).toEqual([]);
  });

  it('loads the Powertools Tracer (and its hook) when TRACING=xray', () => {
    const { hooks, status } = hooksAfterOneResolve('xray');
    expect(status).toBe(400);
    expect(hooks.filter((h) => h.includes('destroy')).length).toBeGreaterThan(0);
  });
});
