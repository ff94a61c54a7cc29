import type { Role, TenantScope } from '#shared/domain/auth';

/** An API token as stored: never the secret, only its keyed hash. */
export interface StoredToken {
  readonly id: string;
  readonly hash: Buffer;
  /** Which hash key made `hash` (keys rotate; see TokenHasher). */
  readonly hashKeyId: string;
  readonly principal: string;
  readonly role: Role;
  readonly tenants: TenantScope;
  readonly createdAt: Date;
  readonly createdBy: string;
  readonly expiresAt: Date;
  readonly revokedAt: Date | null;
  readonly revokedBy: string | null;
}

export type NewToken = Omit<StoredToken, 'revokedAt' | 'revokedBy'>;

export type TokenAuditAction = 'created' | 'revoked';

/** One append-only record of token administration, written in the same transaction as the change. */
export interface TokenAuditEntry {
  readonly seq: number;
  readonly tokenId: string;
  readonly action: TokenAuditAction;
  readonly actor: string;
  readonly actorTokenId: string | null;
  readonly principal: string;
  readonly role: Role;
  readonly tenants: TenantScope;
  readonly expiresAt: Date;
  readonly correlationId: string | null;
  readonly occurredAt: Date;
}

export interface TokenChangeContext {
  readonly actor: string;
  /** The acting token's id beside its principal name; null (or absent) for the bootstrap and auth off. */
  readonly actorTokenId?: string | null;
  readonly correlationId: string | null;
}

export interface TokenAuditQuery {
  readonly limit: number;
  /** Entries older than this sequence number (the previous page's last). */
  readonly beforeSeq?: number;
  readonly tokenId?: string;
}

/**
 * Tokens and their administration trail. `insert` and `revoke` write the `token_audit` record in the
 * same transaction as the change; a failing store is DependencyUnavailableError('database').
 */
export interface TokenStore {
  /**
   * False when a token with this id already exists; PrincipalTakenError when its principal names a live
   * token on one of its tenants.
   */
  insert(token: NewToken, ctx: TokenChangeContext): Promise<boolean>;
  findById(id: string): Promise<StoredToken | null>;
  /** Newest first. */
  list(limit: number): Promise<StoredToken[]>;
  /**
   * `revoked`: this call revoked it; `unchanged`: it already was; `last_admin`: it is the last active
   * admin token and `keepLastAdmin` is set (nothing changed); null: no such token.
   */
  revoke(
    id: string,
    ctx: TokenChangeContext,
    opts: { readonly keepLastAdmin: boolean },
  ): Promise<{ outcome: 'revoked' | 'unchanged' | 'last_admin'; token: StoredToken } | null>;
  /** Newest first. */
  audit(query: TokenAuditQuery): Promise<TokenAuditEntry[]>;
  /** True when an admin token exists that is neither revoked nor expired at `now`. */
  hasActiveAdmin(now: Date): Promise<boolean>;
}
