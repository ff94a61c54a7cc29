import { afterAll, describe, expect, it } from 'vitest';
import { newTokenParts } from '#shared/adapters/auth/token-hasher.hmac';
import { PgTokenStore } from '#shared/adapters/postgres/token-store.pg';
import type { NewToken } from '#shared/ports/token-store.port';
import { testPool } from '#test/support/pg';

const pool = testPool();
const store = new PgTokenStore(pool);
afterAll(() => pool.end());

const ctx = { actor: 'root', correlationId: 'corr-tokens' };
const newToken = (over: Partial<NewToken> = {}): NewToken => ({
  id: newTokenParts().id,
  hash: Buffer.alloc(32, 7),
  hashKeyId: '0123456789abcdef',
  principal: 'alice@example.com',
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
    expect((await store.findById(token.id))?.principal).toBe('alice@example.com');
    expect(await auditRows(token.id)).toHaveLength(1);
  });

  it('revokes once, recording who; a second revoke changes and records nothing', async () => {
    const token = newToken();
    await store.insert(token, ctx);

    const first = await store.revoke(token.id, { actor: 'bob', correlationId: null });
    const second = await store.revoke(token.id, { actor: 'carol', correlationId: null });

    expect(first).toMatchObject({ outcome: 'revoked', token: { revokedBy: 'bob' } });
    expect(first?.token.revokedAt).toBeInstanceOf(Date);
    expect(second).toMatchObject({ outcome: 'unchanged', token: { revokedBy: 'bob' } });
    expect(await store.revoke(newTokenParts().id, ctx)).toBeNull();
    expect((await auditRows(token.id)).map((r) => [r.action, r.actor])).toEqual([
      ['created', 'root'],
      ['revoked', 'bob'],
    ]);
  });

  it('pages the audit trail newest first, optionally for one token', async () => {
    const token = newToken();
    await store.insert(token, ctx);
    await store.revoke(token.id, ctx);

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
});
