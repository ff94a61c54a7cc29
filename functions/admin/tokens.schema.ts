import * as z from 'zod';
import { isReservedPrincipal, MAX_TOKEN_TENANTS, ROLES, TOKEN_ID_PATTERN } from '#shared/domain/auth';
import { ValidationError } from '#shared/domain/errors';
import { ACTOR_PATTERN, nameSchema } from '#shared/domain/route.schema';
import { intParam } from '#shared/middleware/route-params';
import type { StoredToken, TokenAuditEntry } from '#shared/ports/token-store.port';
import { tokenStatus } from '#shared/use-cases/manage-tokens.use-case';

export const MAX_TOKEN_DAYS = 365;
export const DEFAULT_TOKEN_DAYS = 90;

const required = (i: { input: unknown }) => (i.input === undefined ? 'is required' : 'must be a string');

const tenantsSchema = z.union(
  [
    z.literal('*'),
    z
      .array(nameSchema)
      .min(1)
      .max(MAX_TOKEN_TENANTS)
      .refine((list) => new Set(list).size === list.length, { error: 'must not repeat a tenant' }),
  ],
  { error: `must be "*" or a list of 1-${MAX_TOKEN_TENANTS} tenant names` },
);

/** POST /api/v1/admin/tokens. Unknown fields are refused, so a misspelt `tenant` is not silently dropped. */
export const createTokenBodySchema = z.strictObject({
  principal: z
    .string({ error: required })
    .regex(ACTOR_PATTERN, {
      error: 'must be 1-128 characters of letters, digits and . _ @ + : / -, starting with a letter or digit',
      abort: true,
    })
    .refine((name) => !isReservedPrincipal(name), {
      error: 'is reserved for the system (anonymous, local-admin, bootstrap-admin, bootstrap…)',
      params: { rule: 'reserved' },
    }),
  role: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }),
  tenants: tenantsSchema,
  expires_in_days: z
    .number({ error: 'must be a number of days' })
    .int()
    .min(1)
    .max(MAX_TOKEN_DAYS)
    .default(DEFAULT_TOKEN_DAYS),
});

const tokenIdSchema = z
  .string({ error: required })
  .regex(TOKEN_ID_PATTERN, { error: 'must be a token id (16 characters a-z, 2-7)' });

export const revokeTokenBodySchema = z.strictObject({
  id: tokenIdSchema,
  /** The operator means it: revoke even the last active admin token. */
  allow_last_admin: z.boolean({ error: 'must be true or false' }).default(false),
});

export const listTokensQuerySchema = z.object({ limit: intParam(1, 1000, 1000) });

export const tokenAuditQuerySchema = z.object({
  limit: intParam(1, 1000, 100),
  cursor: z.string().max(64).optional(),
  token_id: tokenIdSchema.optional(),
});

/** The audit page cursor: base64url of the last entry's sequence number. */
export const encodeAuditCursor = (seq: number): string => Buffer.from(String(seq)).toString('base64url');

export const decodeAuditCursor = (raw: string): number => {
  const text = Buffer.from(raw, 'base64url').toString('utf8');
  if (!/^\d{1,15}$/.test(text)) {
    throw new ValidationError([
      { field: 'cursor', rule: 'format', message: 'must be a next_cursor value from a previous page' },
    ]);
  }
  return Number(text);
};

/** A token as the API shows it: never its secret or hash. */
export const tokenBody = (t: StoredToken, now: Date) => ({
  id: t.id,
  principal: t.principal,
  role: t.role,
  tenants: t.tenants,
  status: tokenStatus(t, now),
  created_at: t.createdAt.toISOString(),
  created_by: t.createdBy,
  expires_at: t.expiresAt.toISOString(),
  revoked_at: t.revokedAt?.toISOString() ?? null,
  revoked_by: t.revokedBy,
});

export const tokenAuditBody = (e: TokenAuditEntry) => ({
  seq: e.seq,
  token_id: e.tokenId,
  action: e.action,
  actor: e.actor,
  actor_token_id: e.actorTokenId,
  principal: e.principal,
  role: e.role,
  tenants: e.tenants,
  expires_at: e.expiresAt.toISOString(),
  correlation_id: e.correlationId,
  occurred_at: e.occurredAt.toISOString(),
});
