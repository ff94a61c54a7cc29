import type { Role, TenantScope } from '#shared/domain/auth';
import { PrincipalTakenError } from '#shared/domain/token-errors';
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
  actor_token_id: string | null;
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
  actorTokenId: r.actor_token_id,
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
  INSERT INTO token_audit (token_id, action, actor, actor_token_id, principal, role, tenants, expires_at, correlation_id)
  SELECT id, 'created', created_by, $11, principal, role, tenants, expires_at, $10 FROM t
  RETURNING token_id`;

const REVOKE = `
  WITH t AS (
    UPDATE api_tokens SET revoked_at = now(), revoked_by = $2
     WHERE id = $1 AND revoked_at IS NULL
    RETURNING *
  ), audited AS (
    INSERT INTO token_audit (token_id, action, actor, actor_token_id, principal, role, tenants, expires_at, correlation_id)
    SELECT id, 'revoked', $2, $4, principal, role, tenants, expires_at, $3 FROM t
  )
  SELECT * FROM t`;

// Locks every active admin token: two admins revoking each other at once cannot both pass the check
// (the second waits, then sees the first's revocation).
const ACTIVE_ADMINS = `
  SELECT id FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL AND expires_at > now()
   ORDER BY id FOR UPDATE`;

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
        ctx.actorTokenId ?? null,
      ])
      .catch((err: unknown) => {
        if ((err as { constraint?: string }).constraint === 'api_tokens_principal_unique') {
          throw new PrincipalTakenError(
            `principal "${token.principal}" already names a live token on one of these tenants: ` +
              'choose another name, or revoke that token first',
          );
        }
        return mapPgError(err);
      });
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
    opts: { readonly keepLastAdmin: boolean },
  ): Promise<{ outcome: 'revoked' | 'unchanged' | 'last_admin'; token: StoredToken } | null> {
    const client = await this.pool.connect().catch(mapPgError);
    let revoked: TokenRow | undefined;
    try {
      await client.query('BEGIN');
      if (opts.keepLastAdmin) {
        const { rows: admins } = await client.query<{ id: string }>(ACTIVE_ADMINS);
        if (admins.length === 1 && admins[0]!.id === id) {
          await client.query('ROLLBACK');
          const token = await this.findById(id);
          return token ? { outcome: 'last_admin', token } : null;
        }
      }
      ({
        rows: [revoked],
      } = await client.query<TokenRow>(REVOKE, [id, ctx.actor, ctx.correlationId, ctx.actorTokenId ?? null]));
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      return mapPgError(err);
    } finally {
      client.release();
    }
    if (revoked) return { outcome: 'revoked', token: toToken(revoked) };
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
