import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeOf } from '#client/cli/exit-codes';
import { table } from '#client/cli/format';
import { parseBatchFile, parseWeights, runCli } from '#client/cli/run';
import { errorForStatus, UnavailableError } from '#client/errors';

// What the CLI decides without an API (the spawned CLI against the real one: test/e2e/client/cli.test.ts).

const run = async (argv: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (t) => out.push(t), err: (t) => err.push(t), env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
};

describe('exit codes', () => {
  it('gives each kind of API refusal its own code', () => {
    const codes = Object.fromEntries(
      [400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 500, 503].map((status) => [
        status,
        exitCodeOf(errorForStatus(status, { error: 'x', message: 'y' }, {})),
      ]),
    );
    expect(codes).toEqual({
      400: EXIT.badInput,
      401: EXIT.auth,
      403: EXIT.auth,
      404: EXIT.notFound,
      409: EXIT.conflict,
      412: EXIT.preconditionFailed,
      413: EXIT.badInput,
      415: EXIT.badInput,
      422: EXIT.badInput,
      429: EXIT.rateLimited,
      500: EXIT.unavailable,
      503: EXIT.unavailable,
    });
    expect(exitCodeOf(new UnavailableError('down', 'unreachable'))).toBe(EXIT.unavailable);
    expect(exitCodeOf(new TypeError('bug'))).toBe(EXIT.failure);
    expect(new Set(Object.values(EXIT)).size).toBe(Object.keys(EXIT).length);
  });
});

describe('arguments', () => {
  it('refuses what it cannot send with exit 2 and a message naming the problem, before any request', async () => {
    expect(await run(['routes', 'get'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--tenant, --service/),
    });
    expect(await run(['routes', 'get', 't/s/e'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/tenant\/service\/env\/version/),
    });
    expect(await run(['routes', 'create', 't/s/e/v'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--url/),
    });
    expect(await run(['routes', 'list'])).toMatchObject({ code: 2, err: expect.stringMatching(/--tenant/) });
    expect(await run(['routes', 'list', '--tenant', 't', '--active', 'yes'])).toMatchObject({ code: 2 });
    expect(
      await run(['tokens', 'create', '--principal', 'p', '--role', 'root', '--tenants', '*']),
    ).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--role must be/),
    });
    expect(await run(['tokens', 'revoke'])).toMatchObject({ code: 2 });
    expect(await run(['routes', 'get', 't/s/e/v', '--nope'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--nope/),
    });
  });

  it('reports a usage error as one JSON object on stderr with --json', async () => {
    const { code, err } = await run(['routes', 'frobnicate', '--json']);
    expect(code).toBe(2);
    expect(JSON.parse(err)).toMatchObject({ error: 'usage', exit_code: 2 });
  });

  it('prints the usage with --help and exits 0', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    expect(out).toMatch(/^Usage: traffic-manager/);
    expect(out).toMatch(/Exit codes: 0 ok/);
  });
});

describe('table', () => {
  it('pads every column but the last to its widest cell and shows null as -', () => {
    expect(
      table(
        ['A', 'LONGER', 'C'],
        [
          ['x', null, 'last'],
          ['wide cell', ['a', 'b'], 7],
        ],
      ),
    ).toBe(['A          LONGER  C', 'x          -       last', 'wide cell  a,b     7'].join('\n'));
  });
});

describe('batch files, weights and services', () => {
  it('reads {operations} or a bare array, and names a file that is neither', () => {
    const op = { op: 'activate', tenant: 't', service: 's', env: 'e', version: 'v1' };
    expect(parseBatchFile(JSON.stringify({ operations: [op] }), 'ops.json')).toEqual([op]);
    expect(parseBatchFile(JSON.stringify([op]), 'ops.json')).toEqual([op]);
    expect(() => parseBatchFile('{"ops": []}', 'ops.json')).toThrow(/ops\.json must hold/);
    expect(() => parseBatchFile('nope', 'standard input')).toThrow(/standard input is not JSON/);
  });

  it('parses --weights v2=90,v3=10 and refuses what is not version=integer', () => {
    expect(parseWeights('v2=90, v3=10')).toEqual({ v2: 90, v3: 10 });
    expect(() => parseWeights('v2=90,v3')).toThrow(/v2=90,v3=10/);
    expect(() => parseWeights('v2=9.5')).toThrow(/--weights/);
    expect(() => parseWeights('v2=50,v2=50')).toThrow(/v2 twice/);
  });

  it('refuses bad split and batch arguments with exit 2 before any request', async () => {
    expect(await run(['splits', 'get', 't/s'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/tenant\/service\/env/),
    });
    expect(await run(['splits', 'put', 't/s/e'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--weights/),
    });
    expect(await run(['routes', 'batch'])).toMatchObject({ code: 2, err: expect.stringMatching(/--file/) });
    expect(await run(['routes', 'batch', '--file', '/nonexistent/ops.json'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/cannot read \/nonexistent\/ops\.json/),
    });
    expect(await run(['routes', 'resolve', 't/s/e/v1', '--key', 'k'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--key/),
    });
  });
});
