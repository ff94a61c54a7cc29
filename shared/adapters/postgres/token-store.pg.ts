import type { Role, TenantScope } from '#shared/domain/auth';
import type {
  NewToken,
  StoredToken,
  TokenAuditAction,
  TokenAuditEntry,
  TokenAuditQuery,
  TokenChangeContext,
  TokenStore,
} from '#shared/ports/token-store.port';
import { mapPgError } from './pg-errors.ts';
import type { PgPool } from './pg-pool.ts';

interface TokenRow {
  id: string;
  secret_hash: Buffer;
  hash_key_id: string;
  principal: string;
  role: Role;
  tenants: string[] | null;
  created_at: Date;
  created_by: string;
  expires_at: Date;
  revoked_at: Date | null;
  revoked_by: string | null;
}

interface AuditRow {
  seq: number;
  token_id: string;
  action: TokenAuditAction;
  actor: string;
  principal: string;
  role: Role;
  tenants: string[] | null;
  expires_at: Date;
  correlation_id: string | null;
  occurred_at: Date;
}

const scopeOf = (tenants: string[] | null): TenantScope => tenants ?? '*';
const tenantsColumn = (scope: TenantScope): string[] | null => (scope === '*' ? null : [...scope]);

const toToken = (r: TokenRow): StoredToken => ({
  id: r.id,
  hash: r.secret_hash,
  hashKeyId: r.hash_key_id,
  principal: r.principal,
  role: r.role,
  tenants: scopeOf(r.tenants),
  createdAt: r.created_at,
  createdBy: r.created_by,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  revokedBy: r.revoked_by,
});

const toAuditEntry = (r: AuditRow): TokenAuditEntry => ({
  seq: r.seq,
  tokenId: r.token_id,
  action: r.action,
  actor: r.actor,
  principal: r.principal,
  role: r.role,
  tenants: scopeOf(r.tenants),
  expiresAt: r.expires_at,
  correlationId: r.correlation_id,
  occurredAt: r.occurred_at,
});

// The audit insert sits in the same statement as the change: one transaction, one round trip.
const INSERT = `
  WITH t AS (
    INSERT INTO api_tokens (id, secret_hash, hash_key_id, principal, role, tenants, created_at, created_by, expires_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT (id) DO NOTHING
    RETURNING *
  )
  INSERT INTO token_audit (token_id, action, actor, principal, role, tenants, expires_at, correlation_id)
  SELECT id, 'created', created_by, principal, role, tenants, expires_at, $10 FROM t
  RETURNING token_id`;

const REVOKE = `
  WITH t AS (
    UPDATE api_tokens SET revoked_at = now(), revoked_by = $2
     WHERE id = $1 AND revoked_at IS NULL
    RETURNING *
  ), audited AS (
    INSERT INTO token_audit (token_id, action, actor, principal, role, tenants, expires_at, correlation_id)
    SELECT id, 'revoked', $2, principal, role, tenants, expires_at, $3 FROM t
  )
  SELECT * FROM t`;

/** Prepared once per connection: the authorizer runs it for every token it has not cached. */
const FIND = { name: 'tm_find_api_token', text: 'SELECT * FROM api_tokens WHERE id = $1' };

export class PgTokenStore implements TokenStore {
  constructor(private readonly pool: PgPool) {}

  async insert(token: NewToken, ctx: TokenChangeContext): Promise<boolean> {
    const { rowCount } = await this.pool
      .query(INSERT, [
        token.id,
        token.hash,
        token.hashKeyId,
        token.principal,
        token.role,
        tenantsColumn(token.tenants),
        token.createdAt,
        token.createdBy,
        token.expiresAt,
        ctx.correlationId,
      ])
      .catch(mapPgError);
    return rowCount === 1;
  }

  async findById(id: string): Promise<StoredToken | null> {
    const { rows } = await this.pool.query<TokenRow>({ ...FIND, values: [id] }).catch(mapPgError);
    return rows[0] ? toToken(rows[0]) : null;
  }

  async list(limit: number): Promise<StoredToken[]> {
    const { rows } = await this.pool
      .query<TokenRow>('SELECT * FROM api_tokens ORDER BY created_at DESC, id DESC LIMIT $1', [limit])
      .catch(mapPgError);
    return rows.map(toToken);
  }

  async revoke(
    id: string,
    ctx: TokenChangeContext,
  ): Promise<{ outcome: 'revoked' | 'unchanged'; token: StoredToken } | null> {
    const { rows } = await this.pool
      .query<TokenRow>(REVOKE, [id, ctx.actor, ctx.correlationId])
      .catch(mapPgError);
    if (rows[0]) return { outcome: 'revoked', token: toToken(rows[0]) };
    const existing = await this.findById(id);
    return existing ? { outcome: 'unchanged', token: existing } : null;
  }

  async audit(query: TokenAuditQuery): Promise<TokenAuditEntry[]> {
    const { rows } = await this.pool
      .query<AuditRow>(
        `SELECT * FROM token_audit
          WHERE ($1::bigint IS NULL OR seq < $1) AND ($2::text IS NULL OR token_id = $2)
          ORDER BY seq DESC LIMIT $3`,
        [query.beforeSeq ?? null, query.tokenId ?? null, query.limit],
      )
      .catch(mapPgError);
    return rows.map(toAuditEntry);
  }

  async hasActiveAdmin(now: Date): Promise<boolean> {
    const { rows } = await this.pool
      .query<{ found: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM api_tokens
                         WHERE role = 'admin' AND revoked_at IS NULL AND expires_at > $1) AS found`,
        [now],
      )
      .catch(mapPgError);
    return rows[0]?.found === true;
  }
}
