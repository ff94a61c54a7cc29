import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrafficManagerClient } from '#client/client';
import { AuthError, PreconditionFailedError } from '#client/errors';
import { newTokenParts } from '#shared/adapters/auth/token-hasher.hmac';
import { formatToken } from '#shared/domain/auth';
import { ensureClientBuilt, spawnCli } from '#test/support/client-cli';
import { uniqueRouteKey } from '#test/support/fixtures';
import { eventually } from '#test/support/kafka';
import { type RunningCloud, startLocalCloud } from '#test/support/local-runner';

// The client and the CLI against what ships: the local cloud's API Gateway (template routes, the
// authorizer, gateway responses) in front of every function running from its bundle on Node 22.

let cloud: RunningCloud;
let admin: string;

beforeAll(async () => {
  await ensureClientBuilt();
  cloud = await startLocalCloud({ AUTH_MODE: 'on' });
  admin = cloud.adminToken!;
}, 240_000);
afterAll(async () => {
  await cloud?.stop();
});

/** Cold starts take longer than the CLI's default 10 s budget. */
const cli = (args: string[], token = admin) =>
  spawnCli(
    [...args, '--timeout', '30000'],
    { TRAFFIC_MANAGER_URL: cloud.url, TRAFFIC_MANAGER_TOKEN: token },
    60_000,
  );

describe('the client through the local cloud (AUTH_MODE=on)', () => {
  it('revalidates resolve with the ETag through API Gateway, and writes conditionally and idempotently', async () => {
    const key = uniqueRouteKey();
    // A function's first call is a cold start (its container spawns): more than the default 5 s here.
    const tm = new TrafficManagerClient({
      baseUrl: cloud.url,
      token: admin,
      timeoutMs: 30_000,
      cache: { maxAgeMs: 0 },
    });
    await tm.createRoute({ ...key, url: 'https://v1.example.com/' });
    expect(await tm.resolve(key)).toMatchObject({
      url: 'https://v1.example.com/',
      etag: '"1"',
      source: 'api',
    });
    expect(await tm.resolve(key)).toMatchObject({ source: 'revalidated' });
    expect(tm.stats().revalidations).toBe(1);

    await expect(tm.deactivateRoute(key, { ifMatch: 5 })).rejects.toBeInstanceOf(PreconditionFailedError);
    const first = await tm.deactivateRoute(key, { ifMatch: 1, idempotencyKey: `k-${key.tenant}` });
    const replay = await tm.deactivateRoute(key, { ifMatch: 1, idempotencyKey: `k-${key.tenant}` });
    expect(replay).toEqual(first);
    expect(first.route.revision).toBe(2);
    expect(await tm.resolve(key)).toBeNull();
    await expect(
      new TrafficManagerClient({
        baseUrl: cloud.url,
        token: formatToken(newTokenParts()),
        timeoutMs: 30_000,
      }).getRoute(key),
    ).rejects.toBeInstanceOf(AuthError);
  });

  it('runs the CLI: a route through its life, its audit trail, and the exit codes of the gateway answers', async () => {
    const key = uniqueRouteKey();
    const route = `${key.tenant}/${key.service}/${key.env}/${key.version}`;
    expect((await cli(['routes', 'create', route, '--url', 'https://v1.example.com/'])).code).toBe(0);
    expect((await cli(['routes', 'resolve', route])).stdout).toBe('https://v1.example.com/\n');
    expect((await cli(['routes', 'deactivate', route])).code).toBe(0);
    expect((await cli(['routes', 'resolve', route])).code).toBe(3);
    expect((await cli(['routes', 'rollback', route])).stdout).toMatch(/^rolled_back: .* revision 3, active/);
    const trail = await eventually(
      async () => {
        const run = await cli(['audit', 'route', route]);
        return run.stdout.trimEnd().split('\n').length === 4 && run.stdout;
      },
      { timeoutMs: 30_000, what: 'three audited changes' },
    );
    expect(trail).toMatch(/rolled_back[\s\S]*deactivated[\s\S]*created/);
    expect((await cli(['routes', 'list', '--tenant', key.tenant], formatToken(newTokenParts()))).code).toBe(
      6,
    );
    expect(
      (await cli(['routes', 'create', route, '--url', 'https://x.example.com/', '--if-match', '1'])).code,
    ).toBe(4);
  });
});
