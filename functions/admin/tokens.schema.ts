import * as z from 'zod';
import {
  isReservedPrincipal,
  MAX_TOKEN_TENANTS,
  ROLES,
  type TenantScope,
  TOKEN_ID_PATTERN,
} from '#shared/domain/auth';
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
  cursor: z.string().max(64).optional().meta({ description: 'The previous page’s `next_cursor`' }),
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

const tenantScopeSchema = z.union([z.literal('*'), z.array(z.string())]);
const tenantsBody = (scope: TenantScope): TokenBody['tenants'] => (scope === '*' ? '*' : [...scope]);

/** A token as the API shows it (tokenBody builds it; docs/openapi.json shows it): never its secret or hash. */
export const tokenSchema = z
  .object({
    id: z.string(),
    principal: z.string(),
    role: z.enum(ROLES),
    tenants: tenantScopeSchema,
    status: z.enum(['active', 'expired', 'revoked']),
    created_at: z.iso.datetime(),
    created_by: z.string(),
    expires_at: z.iso.datetime(),
    revoked_at: z.iso.datetime().nullable(),
    revoked_by: z.string().nullable(),
  })
  .meta({ id: 'Token' });

/** 201 to POST /api/v1/admin/tokens: the only answer that carries the secret. */
export const createdTokenSchema = z
  .object({
    message: z.string(),
    token: tokenSchema,
    secret: z.string().meta({ description: 'Send as `Authorization: Bearer <secret>`; shown only once' }),
  })
  .meta({ id: 'CreatedToken' });

export const tokenListSchema = z
  .object({ tokens: z.array(tokenSchema), count: z.number().int() })
  .meta({ id: 'TokenList' });

export const revokedTokenSchema = z
  .object({ outcome: z.enum(['revoked', 'unchanged']), token: tokenSchema })
  .meta({ id: 'RevokedToken' });

export const tokenAuditEntrySchema = z
  .object({
    seq: z.number().int(),
    token_id: z.string(),
    action: z.enum(['created', 'revoked']),
    actor: z.string(),
    actor_token_id: z.string().nullable(),
    principal: z.string(),
    role: z.enum(ROLES),
    tenants: tenantScopeSchema,
    expires_at: z.iso.datetime(),
    correlation_id: z.string().nullable(),
    occurred_at: z.iso.datetime(),
  })
  .meta({ id: 'TokenAuditEntry' });

export const tokenAuditPageSchema = z
  .object({
    entries: z.array(tokenAuditEntrySchema),
    count: z.number().int(),
    next_cursor: z.string().nullable(),
  })
  .meta({ id: 'TokenAuditPage' });

export type TokenBody = z.output<typeof tokenSchema>;
export type TokenAuditEntryBody = z.output<typeof tokenAuditEntrySchema>;
export type CreatedTokenBody = z.output<typeof createdTokenSchema>;
export type TokenListBody = z.output<typeof tokenListSchema>;
export type RevokedTokenBody = z.output<typeof revokedTokenSchema>;
export type TokenAuditPageBody = z.output<typeof tokenAuditPageSchema>;

/** A token as the API shows it: never its secret or hash. */
export const tokenBody = (t: StoredToken, now: Date): TokenBody => ({
  id: t.id,
  principal: t.principal,
  role: t.role,
  tenants: tenantsBody(t.tenants),
  status: tokenStatus(t, now),
  created_at: t.createdAt.toISOString(),
  created_by: t.createdBy,
  expires_at: t.expiresAt.toISOString(),
  revoked_at: t.revokedAt?.toISOString() ?? null,
  revoked_by: t.revokedBy,
});

export const tokenAuditBody = (e: TokenAuditEntry): TokenAuditEntryBody => ({
  seq: e.seq,
  token_id: e.tokenId,
  action: e.action,
  actor: e.actor,
  actor_token_id: e.actorTokenId,
  principal: e.principal,
  role: e.role,
  tenants: tenantsBody(e.tenants),
  expires_at: e.expiresAt.toISOString(),
  correlation_id: e.correlationId,
  occurred_at: e.occurredAt.toISOString(),
});
