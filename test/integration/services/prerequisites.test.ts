import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '#test/support/private-redis';

const dir = mkdtempSync(join(tmpdir(), 'tm-prerequisites-'));
const home = join(dir, 'home');
let env: Record<string, string> = {};

afterAll(async () => {
  // dynalite needs only node, so it did start: stop it with the project's own command.
  await promisify(execFile)('npm', ['run', '-s', 'services:down'], {
    env: { ...env, PATH: process.env.PATH! },
  });
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('npm start without java and mvn', () => {
  it('says in a few lines what is missing and the choices, without a stack trace, and exits 1', async () => {
    // A PATH holding node and nothing else: no java, javac or mvn.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    const inherited = { ...process.env } as Record<string, string>;
    for (const name of ['KAFKA_BROKERS', 'MONGO_URL', 'DYNAMODB_ENDPOINT', 'JAVA_HOME'])
      delete inherited[name];
    env = {
      ...inherited,
      PATH: bin,
      LOCAL_SERVICES_HOME: home,
      LOCAL_KAFKA_PORT: String(await freePort()),
      LOCAL_KAFKA_CONTROLLER_PORT: String(await freePort()),
      LOCAL_MONGO_PORT: String(await freePort()),
      LOCAL_DYNAMODB_PORT: String(await freePort()),
      API_PORT: '0',
    };

    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cloud/start.ts'], { env });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    expect(code).toBe(1);
    // Every missing tool is named (javac and mvn too when nothing is fetched yet).
    expect(output).toMatch(
      /cannot start Kafka and the Mongo-wire server here: java(, javac)?(, mvn)? not found on the PATH/,
    );
    expect(output).toContain('KAFKA_BROKERS=host:port MONGO_URL=mongodb://host:port npm start');
    expect(output).toContain('localstack-compose.yml');
    expect(output).not.toMatch(/^\s+at /m);
  }, 120_000);
});
