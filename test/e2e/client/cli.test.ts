import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { AuditPage, RouteList } from '#client/api';
import { newTokenParts } from '#shared/adapters/auth/token-hasher.hmac';
import { formatToken } from '#shared/domain/auth';
import { type CliRun, ensureClientBuilt, spawnCli } from '#test/support/client-cli';
import { uniqueRouteKey } from '#test/support/fixtures';
import { eventually, sharedKafkaBrokers } from '#test/support/kafka';
import { sharedMongoUrl } from '#test/support/mongo';
import { type EventsRunner, startEventsRunner } from '../events/runner.ts';

// The `traffic-manager` CLI as a pipeline runs it: the workspace's bin (node_modules/.bin, what `npx
// traffic-manager` finds), built from clients/typescript with its own tsc build, spawned against the
// sources runner with auth on. Output and exit codes are what is asserted.

const ADMIN = formatToken(newTokenParts());
let runner: EventsRunner;

const cli = (args: string[], env: Record<string, string> = {}, input?: string): Promise<CliRun> =>
  spawnCli(
    args,
    { TRAFFIC_MANAGER_URL: runner.api.url, TRAFFIC_MANAGER_TOKEN: ADMIN, ...env },
    20_000,
    input,
  );

const json = <T = Record<string, unknown>>(run: CliRun) => JSON.parse(run.stdout) as T;
const spec = (k: { tenant: string; service: string; env: string; version: string }) =>
  `${k.tenant}/${k.service}/${k.env}/${k.version}`;

beforeAll(async () => {
  await ensureClientBuilt();
  runner = await startEventsRunner('client-cli', {
    kafkaBrokers: sharedKafkaBrokers(),
    mongoUrl: sharedMongoUrl(),
    extra: { AUTH_MODE: 'on', BOOTSTRAP_ADMIN_TOKEN: ADMIN },
  });
}, 120_000);

afterAll(async () => {
  await runner?.stop();
});

describe('traffic-manager routes', () => {
  it('creates, reads, resolves, deactivates and rolls back a route, printing lines for people', async () => {
    const key = uniqueRouteKey();
    const route = spec(key);
    const created = await cli(['routes', 'create', route, '--url', 'https://v1.example.com/']);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toBe(`created: ${route} revision 1, active, https://v1.example.com/\n`);

    const got = await cli(['routes', 'get', route]);
    expect(got.stdout).toMatch(/^url: +https:\/\/v1\.example\.com\/$/m);
    expect(got.stdout).toMatch(/^etag: +"1"$/m);
    expect((await cli(['routes', 'resolve', route])).stdout).toBe('https://v1.example.com/\n');

    expect((await cli(['routes', 'deactivate', route])).stdout).toMatch(
      /^deactivated: .* revision 2, inactive/,
    );
    const gone = await cli(['routes', 'resolve', route]);
    expect(gone).toMatchObject({ code: 3, stdout: '' });
    expect(gone.stderr).toBe(`error: no active route ${route}\n`);

    const rolled = await cli(['routes', 'rollback', route]);
    expect(rolled.stdout).toMatch(/^rolled_back: .* revision 3, active, .* \(restored revision 1\)$/m);
  });

  it('takes the route as flags too, and prints the API answer with --json', async () => {
    const key = uniqueRouteKey();
    const flags = [
      '--tenant',
      key.tenant,
      '--service',
      key.service,
      '--env',
      key.env,
      '--version',
      key.version,
    ];
    const created = await cli(['routes', 'create', ...flags, '--url', 'https://v1.example.com/', '--json']);
    expect(json(created)).toMatchObject({ outcome: 'created', route: { ...key, revision: 1 } });
    expect(json(await cli(['routes', 'get', ...flags, '--json']))).toMatchObject({
      revision: 1,
      is_active: true,
    });
    expect(json(await cli(['routes', 'resolve', ...flags, '--json']))).toEqual({
      url: 'https://v1.example.com/',
      etag: '"1"',
    });
  });

  it('lists routes as a table, a page at a time or --all', async () => {
    const key = uniqueRouteKey();
    for (const version of ['v1', 'v2', 'v3']) {
      await cli(['routes', 'create', spec({ ...key, version }), '--url', `https://${version}.example.com/`]);
    }
    await cli(['routes', 'deactivate', spec({ ...key, version: 'v2' })]);
    const page = await cli(['routes', 'list', '--tenant', key.tenant, '--limit', '2']);
    const lines = page.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SERVICE +ENV +VERSION +ACTIVE +REVISION +URL$/);
    expect(lines[1]).toMatch(/^payments +prod +v1 +yes +1 +https:\/\/v1\.example\.com\/$/);
    expect(lines[2]).toMatch(/^payments +prod +v2 +no +2 +https:\/\/v2\.example\.com\/$/);
    expect(lines[3]).toMatch(/^\(more: --cursor \S+\)$/);
    const all = await cli(['routes', 'list', '--tenant', key.tenant, '--limit', '1', '--all', '--json']);
    expect(json<RouteList>(all).routes.map((r) => r.version)).toEqual(['v1', 'v2', 'v3']);
    const inactive = await cli(['routes', 'list', '--tenant', key.tenant, '--active', 'false', '--json']);
    expect(json<RouteList>(inactive).routes.map((r) => r.version)).toEqual(['v2']);
  });
});

describe('traffic-manager routes batch, splits and resolve without a version', () => {
  it('applies a batch from a file and from stdin, all or nothing, naming every failing index', async () => {
    const key = { ...uniqueRouteKey(), version: 'v1' };
    const dir = await mkdtemp(join(tmpdir(), 'tm-cli-batch-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'ops.json');
    await writeFile(
      file,
      JSON.stringify({
        operations: ['v1', 'v2'].map((version) => ({
          op: 'create',
          ...key,
          version,
          url: `https://${version}.example.com/`,
        })),
      }),
    );
    const applied = await cli(['routes', 'batch', '--file', file]);
    expect(applied).toMatchObject({ code: 0, stderr: '' });
    const lines = applied.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^INDEX +OUTCOME +ROUTE +REVISION +ACTIVE +URL$/);
    expect(lines[1]).toMatch(new RegExp(`^0 +created +${spec(key)} +1 +yes +https://v1\\.example\\.com/$`));
    expect(lines[3]).toMatch(/^batch [0-9a-f-]{36}: 2 operation\(s\) applied$/);

    // Standard input, the bare array: one missing route refuses the batch (exit 3), nothing applied.
    const ops = [
      { op: 'deactivate', ...key },
      { op: 'activate', ...key, version: 'v9' },
    ];
    const refused = await cli(['routes', 'batch', '--file', '-', '--json'], {}, JSON.stringify(ops));
    expect(refused.code).toBe(3);
    expect(JSON.parse(refused.stderr)).toMatchObject({
      error: 'route_not_found',
      exit_code: 3,
      body: { failures: [{ index: 1, error: 'route_not_found' }] },
    });
    expect((await cli(['routes', 'resolve', spec(key)])).stdout).toBe('https://v1.example.com/\n');
    const ok = await cli(['routes', 'batch', '--file', '-', '--json'], {}, JSON.stringify(ops.slice(0, 1)));
    expect(json(ok)).toMatchObject({ results: [{ outcome: 'deactivated', route: { revision: 2 } }] });
  });

  it('puts, reads and deletes a split, resolves by key without --version, and refuses a guarded deactivate', async () => {
    const key = uniqueRouteKey();
    const service = `${key.tenant}/${key.service}/${key.env}`;
    for (const version of ['v2', 'v3']) {
      await cli(['routes', 'create', spec({ ...key, version }), '--url', `https://${version}.example.com/`]);
    }
    const none = await cli(['splits', 'get', service]);
    expect(none.code).toBe(3);
    expect((await cli(['routes', 'resolve', service, '--key', 'user-1'])).code).toBe(3);

    const put = await cli(['splits', 'put', service, '--weights', 'v2=90,v3=10', '--create-only']);
    expect(put).toMatchObject({ code: 0, stdout: `created: ${service} revision 1, v2=90,v3=10\n` });
    expect((await cli(['splits', 'put', service, '--weights', 'v2=100', '--create-only'])).code).toBe(4);
    const got = await cli(['splits', 'get', service]);
    expect(got.stdout).toMatch(/^weights: +v2=90,v3=10$/m);
    expect(got.stdout).toMatch(/^etag: +"1"$/m);

    const chosen = json<{ url: string; version: string; split_revision: number; sticky: boolean }>(
      await cli(['routes', 'resolve', service, '--key', 'user-1', '--json']),
    );
    expect(chosen).toMatchObject({ split_revision: 1, sticky: true });
    expect(chosen.url).toBe(`https://${chosen.version}.example.com/`);
    const flags = ['--tenant', key.tenant, '--service', key.service, '--env', key.env];
    for (let i = 0; i < 3; i++) {
      expect((await cli(['routes', 'resolve', ...flags, '--key', 'user-1'])).stdout).toBe(`${chosen.url}\n`);
    }
    expect(json(await cli(['routes', 'resolve', service, '--json']))).toMatchObject({ sticky: false });

    const guarded = await cli(['routes', 'deactivate', spec({ ...key, version: 'v3' })]);
    expect(guarded.code).toBe(5);
    expect(guarded.stderr).toMatch(/split/);

    expect((await cli(['splits', 'delete', service, '--if-match', '7'])).code).toBe(4);
    expect((await cli(['splits', 'delete', service, '--if-match', '1'])).stdout).toMatch(/^deleted: /);
    const gone = await cli(['routes', 'resolve', service, '--json']);
    expect(gone.code).toBe(3);
    expect(JSON.parse(gone.stderr)).toMatchObject({ error: 'no_split' });
  });
});

describe('traffic-manager audit', () => {
  it("shows a route's changes, newest first, and the recent ones as JSON", async () => {
    const key = uniqueRouteKey();
    await cli(['routes', 'create', spec(key), '--url', 'https://v1.example.com/']);
    await cli(['routes', 'deactivate', spec(key)]);
    const trail = await eventually(async () => {
      const run = await cli(['audit', 'route', spec(key)]);
      return run.stdout.split('\n').length >= 4 && run; // header, two events, final newline
    });
    const rows = trail.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^OCCURRED_AT +ACTION +ROUTE +REVISION +URL +CHANGED_BY$/);
    expect(rows.slice(1).map((r) => r.split(/ +/)[1])).toEqual(['deactivated', 'created']);
    const recent = json<AuditPage>(
      await cli(['audit', 'recent', '--days', '1', '--limit', '1000', '--json']),
    );
    expect(recent.events.filter((e) => e.route.tenant === key.tenant)).toHaveLength(2);
  });
});

describe('traffic-manager tokens', () => {
  it('creates a token (secret shown once), lists and revokes it; the revoked secret then fails with exit 6', async () => {
    const key = uniqueRouteKey();
    await cli(['routes', 'create', spec(key), '--url', 'https://v1.example.com/']);
    const made = await cli([
      'tokens',
      'create',
      '--principal',
      `cli-e2e-${key.tenant}`,
      '--role',
      'resolver',
      '--tenants',
      key.tenant,
    ]);
    expect(made.code).toBe(0);
    const id = /^id: +(\S+)$/m.exec(made.stdout)?.[1];
    const secret = /^secret \(shown once, store it now\): (\S+)$/m.exec(made.stdout)?.[1];
    expect(id).toMatch(/^[a-z2-7]{16}$/);
    expect((await cli(['routes', 'resolve', spec(key)], { TRAFFIC_MANAGER_TOKEN: secret! })).code).toBe(0);
    // A resolver may not write: 403 is an auth failure too.
    const denied = await cli(['routes', 'deactivate', spec(key)], { TRAFFIC_MANAGER_TOKEN: secret! });
    expect(denied.code).toBe(6);
    expect(denied.stderr).toMatch(/^error: 403 forbidden: /);

    const listed = await cli(['tokens', 'list']);
    expect(listed.stdout).toMatch(/^ID +PRINCIPAL +ROLE +TENANTS +STATUS +EXPIRES_AT$/m);
    expect(listed.stdout).toMatch(
      new RegExp(`^${id} +cli-e2e-${key.tenant} +resolver +${key.tenant} +active `, 'm'),
    );
    expect((await cli(['tokens', 'revoke', id!])).stdout).toBe(
      `revoked: ${id} (cli-e2e-${key.tenant}) is revoked\n`,
    );
    const revoked = await cli(['routes', 'resolve', spec(key)], { TRAFFIC_MANAGER_TOKEN: secret! });
    expect(revoked.code).toBe(6);
    expect(revoked.stderr).toMatch(/^error: 401 unauthorized/);
  });
});

describe('exit codes', () => {
  it('tells not found (3), precondition failed (4) and conflict (5) apart, as text or JSON on stderr', async () => {
    const key = uniqueRouteKey();
    const route = spec(key);
    expect((await cli(['routes', 'get', route])).code).toBe(3);
    await cli(['routes', 'create', route, '--url', 'https://v1.example.com/']);
    const stale = await cli([
      'routes',
      'create',
      route,
      '--url',
      'https://v2.example.com/',
      '--if-match',
      '9',
    ]);
    expect(stale.code).toBe(4);
    expect(stale.stderr).toMatch(/^error: 412 precondition_failed: /);
    const createOnly = await cli([
      'routes',
      'create',
      route,
      '--url',
      'https://v2.example.com/',
      '--create-only',
      '--json',
    ]);
    expect(createOnly.code).toBe(4);
    expect(JSON.parse(createOnly.stderr)).toMatchObject({
      error: 'precondition_failed',
      exit_code: 4,
      status: 412,
      body: { current_revision: 1 },
    });
    const nothing = await cli(['routes', 'rollback', route]);
    expect(nothing.code).toBe(5);
    expect(nothing.stderr).toMatch(/nothing_to_roll_back/);
  });

  it('exits 2 on bad input, from the arguments or from the API', async () => {
    const usage = await cli([]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^Usage: traffic-manager/);
    expect((await cli(['--help'])).code).toBe(0);
    expect((await cli(['routes', 'lsit'])).stderr).toMatch(/unknown command "routes lsit"/);
    expect((await cli(['routes', 'get', 'a/b/c'])).code).toBe(2);
    expect((await cli(['routes', 'list', '--tenant', 't', '--limit', 'many'])).stderr).toMatch(
      /--limit must be/,
    );
    expect((await cli(['routes', 'list', '--tenant', 't', '--bogus'])).code).toBe(2);
    const invalid = await cli(['routes', 'create', 'team a/s/e/v', '--url', 'https://x.example.com/']);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/^error: 400 validation_error: tenant: /);
  });

  it('exits 6 without a valid token and 8 when the API cannot be reached; flags override the environment', async () => {
    const key = uniqueRouteKey();
    expect((await cli(['routes', 'get', spec(key)], { TRAFFIC_MANAGER_TOKEN: '' })).code).toBe(6);
    expect((await cli(['routes', 'get', spec(key), '--token', formatToken(newTokenParts())])).code).toBe(6);
    const closed = await freePort();
    const down = await cli(['routes', 'get', spec(key), '--timeout', '2000'], {
      TRAFFIC_MANAGER_URL: `http://127.0.0.1:${closed}`,
    });
    expect(down.code).toBe(8);
    expect(down.stderr).toMatch(/API unreachable \(ECONNREFUSED\)/);
    const viaFlag = await cli(['routes', 'get', spec(key), '--api-url', runner.api.url], {
      TRAFFIC_MANAGER_URL: `http://127.0.0.1:${closed}`,
    });
    expect(viaFlag.code).toBe(3); // reached the API: no such route
  });
});

/** A port nothing listens on (taken from the OS, then released). */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
