import { bearerTokenOf, type Principal, parseToken } from '#shared/domain/auth';
import { UnauthorizedError } from '#shared/domain/errors';
import type { TokenHasher } from '#shared/ports/token-hasher.port';
import type { TokenStore } from '#shared/ports/token-store.port';

export interface AuthenticateDeps {
  readonly store: TokenStore;
  readonly hasher: TokenHasher;
  readonly now: () => Date;
}

/**
 * Who an `Authorization: Bearer tm_<id>_<secret>` header belongs to:
 * 1. parse the header and the token (no store access for anything malformed);
 * 2. look the token up by its public id;
 * 3. compare the keyed hash of the presented token in constant time;
 * 4. refuse a revoked or expired token.
 * Every refusal is the same 401 to the caller; the reason is for logs and metrics only.
 */
export const authenticateToken = async (
  deps: AuthenticateDeps,
  authorization: string | undefined,
): Promise<Principal> => {
  if (authorization === undefined || authorization.trim() === '') throw new UnauthorizedError('missing');
  const raw = bearerTokenOf(authorization);
  const parts = raw === null ? null : parseToken(raw);
  if (raw === null || parts === null) throw new UnauthorizedError('malformed');
  const stored = await deps.store.findById(parts.id);
  if (!stored) throw new UnauthorizedError('unknown');
  if (!(await deps.hasher.matches(raw, stored.hashKeyId, stored.hash)))
    throw new UnauthorizedError('mismatch');
  if (stored.revokedAt !== null) throw new UnauthorizedError('revoked');
  if (stored.expiresAt.getTime() <= deps.now().getTime()) throw new UnauthorizedError('expired');
  return {
    name: stored.principal,
    role: stored.role,
    tenants: stored.tenants,
    tokenId: stored.id,
    expiresAt: stored.expiresAt.getTime(),
  };
};
