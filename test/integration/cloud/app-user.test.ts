import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROLE, ensureAppUser } from '#functions/deploy/app-user.pg';
import { ensureDatabase, migrateUp } from '#shared/adapters/postgres/migrate';

// What the migrate function leaves behind for the functions' database user (issue 11.3), on a database of
// its own: rows yes, schema and the migrations' bookkeeping no.
const admin = new URL(
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/traffic_manager_test',
);
admin.pathname = '/traffic_manager_test_app_user';
const user = `tm_app_test_${randomBytes(4).toString('hex')}`;
const clone = `${user}_clone`;
const asUser = new URL(admin);
asUser.username = user;
asUser.password = 'unused-with-trust';

let client: pg.Client;
const attempt = async (sql: string, as: pg.Client = client): Promise<string> =>
  as.query(sql).then(
    () => 'ok',
    (err: { code?: string }) => err.code ?? 'error',
  );

beforeAll(async () => {
  await ensureDatabase(admin.toString());
  await migrateUp(admin.toString());
  await ensureAppUser(admin.toString(), { name: user, password: 'first-password' });
  client = new pg.Client({ connectionString: asUser.toString() });
  await client.connect();
}, 60_000);

afterAll(async () => {
  await client?.end();
  const master = new pg.Client({ connectionString: admin.toString() });
  await master.connect();
  for (const login of [clone, user]) {
    await master.query(`DROP OWNED BY ${master.escapeIdentifier(login)}`);
    await master.query(`DROP ROLE IF EXISTS ${master.escapeIdentifier(login)}`);
  }
  await master.end();
});

describe('the application database user', () => {
  it('reads and writes the app tables and calls its functions', async () => {
    expect(await attempt('SELECT count(*) FROM endpoints')).toBe('ok');
    expect(await attempt('SELECT count(*) FROM route_events')).toBe('ok');
    expect(await attempt(`SELECT tm_ensure_tenant('app-user-${user}', 'test')`)).toBe('ok');
    expect(await attempt(`DELETE FROM tenants WHERE name = 'app-user-${user}'`)).toBe('ok');
  });

  it('changes no schema, truncates nothing and never touches the migrations table', async () => {
    const denied = '42501';
    expect(await attempt('CREATE TABLE app_user_probe (id int)')).toBe(denied);
    expect(await attempt('ALTER TABLE endpoints ADD COLUMN probe int')).toBe(denied);
    expect(await attempt('DROP TABLE endpoints')).toBe(denied);
    expect(await attempt('TRUNCATE route_events')).toBe(denied);
    expect(await attempt('SELECT * FROM pgmigrations')).toBe(denied);
    expect(await attempt('DELETE FROM token_audit')).toBe(denied);
  });

  it('keeps an existing user and its password when run again, as a redeploy does', async () => {
    const again = await ensureAppUser(admin.toString(), { name: user, password: 'second-password' });

    expect(again).toBe('kept');
    const master = new pg.Client({ connectionString: admin.toString() });
    await master.connect();
    const member = await master.query(
      'SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = $1 AND u.rolname = $2',
      [APP_ROLE, user],
    );
    await master.end();
    expect(member.rowCount).toBe(1);
  });

  it('grants the app role to the clone an alternating-users rotation creates, named by the secret after it', async () => {
    // What the multi-user rotation function does on its first run, as the master.
    const master = new pg.Client({ connectionString: admin.toString() });
    await master.connect();
    await master.query(`CREATE ROLE ${master.escapeIdentifier(clone)} LOGIN PASSWORD 'clone-password'`);
    await master.query(`GRANT ${master.escapeIdentifier(user)} TO ${master.escapeIdentifier(clone)}`);
    await master.end();

    // The next deploy reads the secret, which now names the clone.
    expect(await ensureAppUser(admin.toString(), { name: clone, password: 'clone-password' })).toBe('kept');

    const asClone = new URL(admin);
    asClone.username = clone;
    const cloneClient = new pg.Client({ connectionString: asClone.toString() });
    await cloneClient.connect();
    try {
      expect(await attempt('SELECT count(*) FROM endpoints', cloneClient)).toBe('ok');
      expect(await attempt('CREATE TABLE app_user_clone_probe (id int)', cloneClient)).toBe('42501');
      expect(await attempt('SELECT * FROM pgmigrations', cloneClient)).toBe('42501');
    } finally {
      await cloneClient.end();
    }
    const check = new pg.Client({ connectionString: admin.toString() });
    await check.connect();
    const members = await check.query(
      'SELECT u.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = $1 AND u.rolname = ANY($2) ORDER BY 1',
      [APP_ROLE, [user, clone]],
    );
    await check.end();
    expect(members.rows.map((r) => r.rolname)).toEqual([user, clone].sort());
  });
});
