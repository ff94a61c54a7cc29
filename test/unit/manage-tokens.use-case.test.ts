import { describe, expect, it } from 'vitest';
import { HmacTokenHasher, newTokenParts } from '#shared/adapters/auth/token-hasher.hmac';
import { formatToken } from '#shared/domain/auth';
import { UnauthorizedError, ValidationError } from '#shared/domain/errors';
import { authenticateToken } from '#shared/use-cases/authenticate-token.use-case';
import {
  bootstrapAdminToken,
  createToken,
  revokeToken,
  type TokenAdminDeps,
  tokenAuditPage,
  tokenStatus,
} from '#shared/use-cases/manage-tokens.use-case';
import { InMemoryTokenStore } from '#test/support/fakes';

const setup = (start = Date.parse('2026-03-01T00:00:00Z')) => {
  let now = start;
  const store = new InMemoryTokenStore();
  store.clock = () => now;
  const deps: TokenAdminDeps = {
    store,
    hasher: new HmacTokenHasher(async () => 'k'.repeat(32)),
    now: () => new Date(now),
    newToken: newTokenParts,
  };
  return { deps, store, advance: (ms: number) => (now += ms) };
};
const ctx = { actor: 'root', correlationId: 'c-1' };
const writer = { principal: 'alice', role: 'writer', tenants: ['team-a'], expiresInDays: 30 } as const;

const reasonOf = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof UnauthorizedError)) throw new Error(`expected UnauthorizedError, got ${String(err)}`);
  return err.reason;
};

describe('createToken', () => {
  it('returns the secret once and stores only its keyed hash, with an audit record', async () => {
    const { deps, store } = setup();

    const { token, secret } = await createToken(deps, writer, ctx);

    expect(secret).toMatch(new RegExp(`^tm_${token.id}_[A-Za-z0-9_-]{43}$`));
    const stored = store.tokens.get(token.id)!;
    expect(JSON.stringify({ ...stored, hash: stored.hash.toString('base64') })).not.toContain(
      secret.slice(20),
    );
    expect(stored).toMatchObject({
      principal: 'alice',
      role: 'writer',
      tenants: ['team-a'],
      createdBy: 'root',
    });
    expect(stored.expiresAt.getTime() - stored.createdAt.getTime()).toBe(30 * 86_400_000);
    expect(store.auditTrail).toMatchObject([{ tokenId: token.id, action: 'created', actor: 'root' }]);
  });

  it('refuses an admin token limited to some tenants', async () => {
    const { deps } = setup();
    await expect(
      createToken(deps, { ...writer, role: 'admin', tenants: ['team-a'] }, ctx),
    ).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('authenticateToken', () => {
  it('accepts a live token and describes its principal', async () => {
    const { deps } = setup();
    const { token, secret } = await createToken(deps, writer, ctx);

    expect(await authenticateToken(deps, `Bearer ${secret}`)).toEqual({
      name: 'alice',
      role: 'writer',
      tenants: ['team-a'],
      tokenId: token.id,
      expiresAt: token.expiresAt.getTime(),
    });
  });

  it('refuses, with a reason for the logs only, a missing, malformed, unknown, forged, revoked or expired token', async () => {
    const { deps, advance } = setup();
    const { token, secret } = await createToken(deps, writer, ctx);
    const other = await createToken(deps, writer, ctx);

    expect(await reasonOf(authenticateToken(deps, undefined))).toBe('missing');
    expect(await reasonOf(authenticateToken(deps, 'Basic abc'))).toBe('malformed');
    expect(await reasonOf(authenticateToken(deps, 'Bearer tm_nope'))).toBe('malformed');
    expect(await reasonOf(authenticateToken(deps, `Bearer ${formatToken(newTokenParts())}`))).toBe('unknown');
    const forged = formatToken({ id: token.id, secret: newTokenParts().secret });
    expect(await reasonOf(authenticateToken(deps, `Bearer ${forged}`))).toBe('mismatch');

    await revokeToken(deps, other.token.id, ctx);
    expect(await reasonOf(authenticateToken(deps, `Bearer ${other.secret}`))).toBe('revoked');
    advance(30 * 86_400_000);
    expect(await reasonOf(authenticateToken(deps, `Bearer ${secret}`))).toBe('expired');
    expect(tokenStatus(token, deps.now())).toBe('expired');
  });

  it('gives every refusal the same message, which never contains the token', async () => {
    const { deps } = setup();
    const { secret } = await createToken(deps, writer, ctx);
    const wrong = `Bearer ${secret.slice(0, -2)}xx`;
    const err = await authenticateToken(deps, wrong).catch((e: Error) => e);
    const unknown = await authenticateToken(deps, 'Bearer junk').catch((e: Error) => e);

    expect((err as Error).message).toBe((unknown as Error).message);
    expect((err as Error).message).not.toContain(secret.slice(3, 19));
  });
});

describe('revokeToken and the audit trail', () => {
  it('revokes once (then reports unchanged) and records who did it', async () => {
    const { deps, store } = setup();
    const { token } = await createToken(deps, writer, ctx);

    expect((await revokeToken(deps, token.id, { actor: 'bob', correlationId: null })).outcome).toBe(
      'revoked',
    );
    expect((await revokeToken(deps, token.id, ctx)).outcome).toBe('unchanged');
    await expect(revokeToken(deps, 'aaaaaaaaaaaaaaaa', ctx)).rejects.toMatchObject({ status: 404 });
    expect(store.auditTrail.map((e) => [e.action, e.actor])).toEqual([
      ['created', 'root'],
      ['revoked', 'bob'],
    ]);
  });

  it('keeps the last active admin token (409) unless the operator allows it', async () => {
    const { deps, store } = setup();
    const admin = { principal: 'ops', role: 'admin', tenants: '*', expiresInDays: 30 } as const;
    const [first, second] = [await createToken(deps, admin, ctx), await createToken(deps, admin, ctx)];

    await revokeToken(deps, first.token.id, ctx);
    await expect(revokeToken(deps, second.token.id, ctx)).rejects.toMatchObject({
      status: 409,
      code: 'last_admin_token',
    });
    expect(store.tokens.get(second.token.id)?.revokedAt).toBeNull();
    const forced = await revokeToken(deps, second.token.id, ctx, { allowLastAdmin: true });
    expect(forced.outcome).toBe('revoked');
  });

  it('pages the trail newest first', async () => {
    const { deps } = setup();
    for (let i = 0; i < 5; i++) await createToken(deps, writer, ctx);

    const first = await tokenAuditPage(deps, { limit: 2 });
    const second = await tokenAuditPage(deps, { limit: 2, beforeSeq: first.next! });
    const third = await tokenAuditPage(deps, { limit: 2, beforeSeq: second.next! });

    expect([...first.entries, ...second.entries, ...third.entries].map((e) => e.seq)).toEqual([
      5, 4, 3, 2, 1,
    ]);
    expect(third.next).toBeNull();
  });
});

describe('bootstrapAdminToken', () => {
  it('creates an admin token only while none is active, unless forced', async () => {
    const { deps, advance } = setup();
    const input = { principal: 'boot', expiresInDays: 1 };

    const first = await bootstrapAdminToken(deps, input, ctx);
    expect(first).toMatchObject({ outcome: 'created', token: { role: 'admin', tenants: '*' } });
    expect((await bootstrapAdminToken(deps, input, ctx)).outcome).toBe('admin_exists');
    expect((await bootstrapAdminToken(deps, { ...input, force: true }, ctx)).outcome).toBe('created');
    advance(86_400_000);
    expect((await bootstrapAdminToken(deps, input, ctx)).outcome).toBe('created');
  });

  it('adopts a preset token: created once, accepted again with the same secret, refused with another', async () => {
    const { deps } = setup();
    const preset = formatToken(newTokenParts());
    const input = { principal: 'boot', expiresInDays: 365, preset };

    expect((await bootstrapAdminToken(deps, input, ctx)).outcome).toBe('preset_created');
    expect((await bootstrapAdminToken(deps, input, ctx)).outcome).toBe('preset_exists');
    expect((await authenticateToken(deps, `Bearer ${preset}`)).role).toBe('admin');
    const sameIdOtherSecret = formatToken({ id: preset.slice(3, 19), secret: newTokenParts().secret });
    await expect(bootstrapAdminToken(deps, { ...input, preset: sameIdOtherSecret }, ctx)).rejects.toThrow(
      /not an active admin token/,
    );
    await expect(bootstrapAdminToken(deps, { ...input, preset: 'nonsense' }, ctx)).rejects.toThrow(
      /look like/,
    );
  });
});
