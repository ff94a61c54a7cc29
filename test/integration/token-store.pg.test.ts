import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { newTokenParts } from '#shared/adapters/auth/token-hasher.hmac';
import { ensureDatabase, migrateUp } from '#shared/adapters/postgres/migrate';
import { PgTokenStore } from '#shared/adapters/postgres/token-store.pg';
import { getConfig } from '#shared/config/config';
import { PrincipalTakenError } from '#shared/domain/token-errors';
import type { NewToken } from '#shared/ports/token-store.port';
import { testPool } from '#test/support/pg';

const pool = testPool();
const store = new PgTokenStore(pool);
afterAll(() => pool.end());

const ctx = { actor: 'root', correlationId: 'corr-tokens' };
const keep = { keepLastAdmin: false };
// Names are unique per tenant among live tokens, and the test database outlives a run: one name per token.
const uniqueName = () => `alice-${newTokenParts().id}@example.com`;
const newToken = (over: Partial<NewToken> = {}): NewToken => ({
  id: newTokenParts().id,
  hash: Buffer.alloc(32, 7),
  hashKeyId: '0123456789abcdef',
  principal: uniqueName(),
  role: 'writer',
  tenants: ['team-a', 'team-b'],
  createdAt: new Date('2026-03-01T00:00:00Z'),
  createdBy: 'root',
  expiresAt: new Date(Date.now() + 86_400_000),
  ...over,
});
const auditRows = async (tokenId: string) =>
  (
    await pool.query(
      'SELECT action, actor, correlation_id FROM token_audit WHERE token_id = $1 ORDER BY seq',
      [tokenId],
    )
  ).rows;

describe('PgTokenStore', () => {
  it('stores a token with its audit record, and reads it back as stored', async () => {
    const token = newToken();

    expect(await store.insert(token, ctx)).toBe(true);

    expect(await store.findById(token.id)).toEqual({ ...token, revokedAt: null, revokedBy: null });
    expect(await auditRows(token.id)).toEqual([
      { action: 'created', actor: 'root', correlation_id: 'corr-tokens' },
    ]);
  });

  it('keeps "*" as every tenant, and refuses an id that exists (no second audit record)', async () => {
    const token = newToken({ role: 'resolver', tenants: '*' });
    await store.insert(token, ctx);

    expect(await store.insert({ ...token, principal: 'mallory' }, ctx)).toBe(false);
    expect((await store.findById(token.id))?.tenants).toBe('*');
    expect((await store.findById(token.id))?.principal).toBe(token.principal);
    expect(await auditRows(token.id)).toHaveLength(1);
  });

  it('revokes once, recording who; a second revoke changes and records nothing', async () => {
    const token = newToken();
    await store.insert(token, ctx);

    const first = await store.revoke(token.id, { actor: 'bob', correlationId: null }, keep);
    const second = await store.revoke(token.id, { actor: 'carol', correlationId: null }, keep);

    expect(first).toMatchObject({ outcome: 'revoked', token: { revokedBy: 'bob' } });
    expect(first?.token.revokedAt).toBeInstanceOf(Date);
    expect(second).toMatchObject({ outcome: 'unchanged', token: { revokedBy: 'bob' } });
    expect(await store.revoke(newTokenParts().id, ctx, keep)).toBeNull();
    expect((await auditRows(token.id)).map((r) => [r.action, r.actor])).toEqual([
      ['created', 'root'],
      ['revoked', 'bob'],
    ]);
  });

  it('pages the audit trail newest first, optionally for one token', async () => {
    const token = newToken();
    await store.insert(token, ctx);
    await store.revoke(token.id, ctx, keep);

    const mine = await store.audit({ limit: 10, tokenId: token.id });
    const older = await store.audit({ limit: 10, tokenId: token.id, beforeSeq: mine[0]!.seq });

    expect(mine.map((e) => e.action)).toEqual(['revoked', 'created']);
    expect(older.map((e) => e.action)).toEqual(['created']);
    expect(mine[0]).toMatchObject({ tokenId: token.id, role: 'writer', tenants: ['team-a', 'team-b'] });
  });

  it('keeps the audit trail append-only, and audited tokens undeletable', async () => {
    const token = newToken();
    await store.insert(token, ctx);

    await expect(
      pool.query("UPDATE token_audit SET actor = 'x' WHERE token_id = $1", [token.id]),
    ).rejects.toThrow(/append-only/);
    await expect(pool.query('DELETE FROM token_audit WHERE token_id = $1', [token.id])).rejects.toThrow(
      /append-only/,
    );
    await expect(pool.query('TRUNCATE token_audit CASCADE')).rejects.toThrow(/append-only/);
    await expect(pool.query('DELETE FROM api_tokens WHERE id = $1', [token.id])).rejects.toThrow(
      /foreign key/,
    );
  });

  it('enforces the token rules in the schema too', async () => {
    await expect(store.insert(newToken({ role: 'admin', tenants: ['team-a'] }), ctx)).rejects.toThrow(
      /api_tokens_admin_all_tenants/,
    );
    await expect(store.insert(newToken({ principal: 'a b' }), ctx)).rejects.toThrow(/principal/);
    await expect(store.insert(newToken({ hash: Buffer.alloc(5) }), ctx)).rejects.toThrow(/hash/);
  });

  it('knows whether an admin token is active', async () => {
    const now = new Date();
    const admin = newToken({ role: 'admin', tenants: '*', expiresAt: new Date(now.getTime() + 1000) });
    await store.insert(admin, ctx);

    expect(await store.hasActiveAdmin(now)).toBe(true);
    // Other tests' admin tokens may be active too: only this token's own effect is checked here.
    const listed = await store.list(1000);
    expect(listed.map((t) => t.id)).toContain(admin.id);
    expect(listed.every((t, i) => i === 0 || listed[i - 1]!.createdAt >= t.createdAt)).toBe(true);
  });

  it('records the acting token id beside its name in the administration trail', async () => {
    const token = newToken({ createdBy: 'ops' });
    const actor = { actor: 'ops', actorTokenId: newTokenParts().id, correlationId: null };
    await store.insert(token, actor);
    await store.revoke(token.id, actor, keep);

    const trail = await store.audit({ limit: 10, tokenId: token.id });
    expect(trail.map((e) => [e.action, e.actor, e.actorTokenId])).toEqual([
      ['revoked', 'ops', actor.actorTokenId],
      ['created', 'ops', actor.actorTokenId],
    ]);
  });

  it('holds a principal name to one live token per tenant ("*" shares every tenant), case-insensitively', async () => {
    const name = uniqueName();
    const first = newToken({ principal: name, tenants: ['team-a'] });
    await store.insert(first, ctx);

    // Another tenant may use the name; the same tenant (or all of them) may not, whatever the case.
    expect(await store.insert(newToken({ principal: name, tenants: ['team-b'] }), ctx)).toBe(true);
    for (const clash of [
      newToken({ principal: name.toUpperCase(), tenants: ['team-c', 'team-a'] }),
      newToken({ principal: name, role: 'resolver', tenants: '*' }),
    ]) {
      await expect(store.insert(clash, ctx)).rejects.toBeInstanceOf(PrincipalTakenError);
      expect(await store.findById(clash.id)).toBeNull();
    }
    // Concurrent creates of one name on one tenant: exactly one wins.
    const racing = uniqueName();
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, () =>
        store.insert(newToken({ principal: racing, tenants: ['team-d'] }), ctx),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    // A revoked or expired token frees its name.
    await store.revoke(first.id, ctx, keep);
    expect(await store.insert(newToken({ principal: name, tenants: ['team-a'] }), ctx)).toBe(true);
  });

  it('refuses the reserved names in the schema, and lets the bootstrap names repeat', async () => {
    for (const principal of ['anonymous', 'Bootstrap', 'bootstrap:force']) {
      await expect(store.insert(newToken({ principal }), ctx)).rejects.toThrow(/principal/);
    }
    for (let i = 0; i < 2; i++) {
      expect(
        await store.insert(newToken({ principal: 'bootstrap-admin', role: 'admin', tenants: '*' }), ctx),
      ).toBe(true);
    }
  });
});

describe('PgTokenStore: the last active admin token (a database of its own)', () => {
  const url = new URL(getConfig().database.url!);
  url.pathname = `/tm_last_admin_${process.pid}_${Date.now()}`;
  const own = new pg.Pool({ connectionString: url.toString(), max: 4 });
  const ownStore = new PgTokenStore(own);
  afterAll(async () => {
    await own.end();
    const admin = new pg.Client({ connectionString: getConfig().database.url! });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${url.pathname.slice(1)}`);
    await admin.end();
  });

  it('keeps the last active admin unless told otherwise, also when two admins revoke each other at once', async () => {
    await ensureDatabase(url.toString());
    await migrateUp(url.toString());
    const [a, b] = [newToken({ role: 'admin', tenants: '*' }), newToken({ role: 'admin', tenants: '*' })];
    await ownStore.insert(a, ctx);
    await ownStore.insert(b, ctx);

    const both = await Promise.all([
      ownStore.revoke(a.id, ctx, { keepLastAdmin: true }),
      ownStore.revoke(b.id, ctx, { keepLastAdmin: true }),
    ]);
    expect(both.map((r) => r?.outcome).sort()).toEqual(['last_admin', 'revoked']);
    const last = both.find((r) => r?.outcome === 'last_admin')!.token;
    expect((await ownStore.findById(last.id))?.revokedAt).toBeNull();

    expect(await ownStore.revoke(last.id, ctx, { keepLastAdmin: false })).toMatchObject({
      outcome: 'revoked',
    });
    expect(await ownStore.hasActiveAdmin(new Date())).toBe(false);
  });
});
