import { formatToken, parseToken, type Role, type TenantScope, type TokenParts } from '#shared/domain/auth';
import { TokenNotFoundError, ValidationError } from '#shared/domain/errors';
import { LastAdminTokenError } from '#shared/domain/token-errors';
import type { TokenHasher } from '#shared/ports/token-hasher.port';
import type {
  NewToken,
  StoredToken,
  TokenAuditEntry,
  TokenAuditQuery,
  TokenChangeContext,
  TokenStore,
} from '#shared/ports/token-store.port';
import { pageOf } from './page.ts';

export interface TokenAdminDeps {
  readonly store: TokenStore;
  readonly hasher: TokenHasher;
  readonly now: () => Date;
  readonly newToken: () => TokenParts;
}

export interface CreateTokenInput {
  readonly principal: string;
  readonly role: Role;
  readonly tenants: TenantScope;
  readonly expiresInDays: number;
}

export interface CreatedToken {
  readonly token: StoredToken;
  /** `tm_<id>_<secret>`: returned once, never stored. */
  readonly secret: string;
}

const DAY_MS = 86_400_000;

export type TokenStatus = 'active' | 'expired' | 'revoked';

export const tokenStatus = (token: StoredToken, now: Date): TokenStatus => {
  if (token.revokedAt !== null) return 'revoked';
  return token.expiresAt.getTime() <= now.getTime() ? 'expired' : 'active';
};

const insertToken = async (
  deps: TokenAdminDeps,
  parts: TokenParts,
  input: CreateTokenInput,
  ctx: TokenChangeContext,
): Promise<CreatedToken | null> => {
  const secret = formatToken(parts);
  const { keyId, digest } = await deps.hasher.hash(secret);
  const now = deps.now();
  const token: NewToken = {
    id: parts.id,
    hash: digest,
    hashKeyId: keyId,
    principal: input.principal,
    role: input.role,
    tenants: input.tenants,
    createdAt: now,
    createdBy: ctx.actor,
    expiresAt: new Date(now.getTime() + input.expiresInDays * DAY_MS),
  };
  if (!(await deps.store.insert(token, ctx))) return null;
  return { token: { ...token, revokedAt: null, revokedBy: null }, secret };
};

/**
 * Creates a token:
 * 1. an admin token always covers every tenant (a tenant list on one is a mistake, not a narrower admin);
 * 2. a random id and secret; the store keeps only the keyed hash, and the audit record in the same
 *    transaction (an id collision, 80 random bits, is retried once).
 */
export const createToken = async (
  deps: TokenAdminDeps,
  input: CreateTokenInput,
  ctx: TokenChangeContext,
): Promise<CreatedToken> => {
  if (input.role === 'admin' && input.tenants !== '*') {
    throw new ValidationError([
      { field: 'tenants', rule: 'admin_all_tenants', message: 'must be "*" for an admin token' },
    ]);
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    const created = await insertToken(deps, deps.newToken(), input, ctx);
    if (created) return created;
  }
  throw new Error('could not allocate a unique token id');
};

export const listTokens = async (
  deps: Pick<TokenAdminDeps, 'store'>,
  limit: number,
): Promise<StoredToken[]> => deps.store.list(limit);

/**
 * Revokes a token (idempotent: a revoked token stays revoked, `unchanged`); 404 when there is none. The
 * last active admin token is kept (409) unless `allowLastAdmin`: without one, tokens can be
 * administered again only after an operator bootstraps another.
 */
export const revokeToken = async (
  deps: Pick<TokenAdminDeps, 'store'>,
  id: string,
  ctx: TokenChangeContext,
  opts: { readonly allowLastAdmin?: boolean } = {},
): Promise<{ outcome: 'revoked' | 'unchanged'; token: StoredToken }> => {
  const result = await deps.store.revoke(id, ctx, { keepLastAdmin: !opts.allowLastAdmin });
  if (!result) throw new TokenNotFoundError(`no token with id ${id}`);
  if (result.outcome === 'last_admin') {
    throw new LastAdminTokenError(
      'this is the last active admin token: create another admin token first, or revoke with ' +
        '"allow_last_admin": true (token administration then needs the bootstrap again)',
    );
  }
  return { outcome: result.outcome, token: result.token };
};

/** One page of the token administration trail, newest first. */
export const tokenAuditPage = async (
  deps: Pick<TokenAdminDeps, 'store'>,
  query: TokenAuditQuery,
): Promise<{ entries: readonly TokenAuditEntry[]; next: number | null }> => {
  const found = await deps.store.audit({ ...query, limit: query.limit + 1 });
  const { items, next } = pageOf(found, query.limit, (last) => last.seq);
  return { entries: items, next };
};

export interface BootstrapInput {
  readonly principal: string;
  readonly expiresInDays: number;
  /** A token chosen by the operator (`BOOTSTRAP_ADMIN_TOKEN`): created if its id is new. */
  readonly preset?: string;
  /** Create one even though an active admin token exists (break glass; audited like any other). */
  readonly force?: boolean;
}

export type BootstrapResult =
  | { readonly outcome: 'created'; readonly token: StoredToken; readonly secret: string }
  | { readonly outcome: 'preset_created' | 'preset_exists'; readonly token: StoredToken }
  | { readonly outcome: 'admin_exists' };

/**
 * The first admin token, so that tokens can be administered at all:
 * 1. with a preset token: make sure it exists as an active admin token (create it if its id is new;
 *    refuse one whose id exists with another secret, or that is no longer an active admin token);
 * 2. otherwise, unless forced: nothing to do while any admin token is active;
 * 3. otherwise create one, returning its secret this once.
 */
export const bootstrapAdminToken = async (
  deps: TokenAdminDeps,
  input: BootstrapInput,
  ctx: TokenChangeContext,
): Promise<BootstrapResult> => {
  const admin = {
    principal: input.principal,
    role: 'admin',
    tenants: '*',
    expiresInDays: input.expiresInDays,
  } as const;
  if (input.preset !== undefined) {
    const parts = parseToken(input.preset);
    if (!parts) throw new Error('the preset admin token must look like tm_<16 base32>_<43 base64url>');
    const created = await insertToken(deps, parts, admin, ctx);
    if (created) return { outcome: 'preset_created', token: created.token };
    const existing = await deps.store.findById(parts.id);
    const usable =
      existing !== null &&
      existing.role === 'admin' &&
      tokenStatus(existing, deps.now()) === 'active' &&
      (await deps.hasher.matches(input.preset, existing.hashKeyId, existing.hash));
    if (!usable)
      throw new Error(
        `the preset admin token ${parts.id} exists but is not an active admin token with that secret`,
      );
    return { outcome: 'preset_exists', token: existing };
  }
  if (!input.force && (await deps.store.hasActiveAdmin(deps.now()))) return { outcome: 'admin_exists' };
  const { token, secret } = await createToken(deps, admin, ctx);
  return { outcome: 'created', token, secret };
};
