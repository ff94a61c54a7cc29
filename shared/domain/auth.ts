import * as z from 'zod';
import { ACTOR_PATTERN, NAME_PATTERN } from './route.schema.ts';

/** resolver ⊂ writer ⊂ admin: each role can do everything the one before it can. */
export const ROLES = ['resolver', 'writer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What a route requires (`permission` in functions/route-table.ts). */
export const PERMISSIONS = ['resolve', 'write', 'audit', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  resolver: ['resolve'],
  writer: ['resolve', 'write', 'audit'],
  admin: ['resolve', 'write', 'audit', 'admin'],
};

export const roleAllows = (role: Role, permission: Permission): boolean =>
  ROLE_PERMISSIONS[role].includes(permission);

/** `'*'`: every tenant, including ones created later. */
export type TenantScope = '*' | readonly string[];

/** Who is calling: an API token's principal, as the authorizer established it. */
export interface Principal {
  readonly name: string;
  readonly role: Role;
  readonly tenants: TenantScope;
  /** The token's public id; null only for the local runner's auth-off principal. */
  readonly tokenId: string | null;
  /** Epoch milliseconds; null only for the auth-off principal. */
  readonly expiresAt: number | null;
}

export const mayActOn = (principal: Principal, tenant: string): boolean =>
  principal.tenants === '*' || principal.tenants.includes(tenant);

/**
 * The principal of every request while the local runner runs with auth off (loopback only): an
 * all-tenant admin named like the author the API recorded before tokens existed.
 */
export const ANONYMOUS_ADMIN: Principal = {
  name: 'anonymous',
  role: 'admin',
  tenants: '*',
  tokenId: null,
  expiresAt: null,
};

/**
 * Names the system gives principals and actors: the auth-off principal, the bootstrap's actors, and the
 * names the bootstrap mints admin tokens under. The admin API refuses them (case-insensitively), so no
 * token can pass for one of these in the audit trail; migration 1763800000000 refuses the first group
 * for every token.
 */
export const isReservedPrincipal = (name: string): boolean => {
  const n = name.toLowerCase();
  return (
    ['anonymous', 'bootstrap', 'local-admin', 'bootstrap-admin'].includes(n) || n.startsWith('bootstrap:')
  );
};

/** At most this many tenants per token (the list travels in the authorizer context, which is capped). */
export const MAX_TOKEN_TENANTS = 50;

// ---- API token format: tm_<id>_<secret> --------------------------------------------------------------
// The id (16 base32 characters, 80 random bits) is public and is the lookup key; the secret (43 base64url
// characters, 256 random bits) is shown once and stored only as an HMAC.

export const TOKEN_ID_PATTERN = /^[a-z2-7]{16}$/;
const TOKEN_PATTERN = /^tm_([a-z2-7]{16})_([A-Za-z0-9_-]{43})$/;

export interface TokenParts {
  readonly id: string;
  readonly secret: string;
}

export const formatToken = ({ id, secret }: TokenParts): string => `tm_${id}_${secret}`;

export const parseToken = (raw: string): TokenParts | null => {
  const m = TOKEN_PATTERN.exec(raw);
  return m ? { id: m[1]!, secret: m[2]! } : null;
};

/** The token from an `Authorization: Bearer <token>` header; null when absent or another scheme. */
export const bearerTokenOf = (header: string | undefined): string | null => {
  if (header === undefined || header.length > 512) return null;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m ? m[1]! : null;
};

// ---- the authorizer context -------------------------------------------------------------------------
// API Gateway passes a Lambda authorizer's context to the integration as flat string values (no
// arrays), so the tenant list travels comma-separated: tenant names cannot contain a comma.

export const toAuthorizerContext = (p: Principal): Record<string, string> => ({
  principal: p.name,
  role: p.role,
  tenants: p.tenants === '*' ? '*' : p.tenants.join(','),
  tokenId: p.tokenId ?? '',
  expiresAt: p.expiresAt === null ? '' : String(p.expiresAt),
});

const contextSchema = z.object({
  principal: z.string().regex(ACTOR_PATTERN),
  role: z.enum(ROLES),
  tenants: z
    .string()
    .refine((s) => s === '*' || s.split(',').every((t) => NAME_PATTERN.test(t)))
    .transform((s): TenantScope => (s === '*' ? '*' : s.split(','))),
  tokenId: z
    .string()
    .refine((s) => s === '' || TOKEN_ID_PATTERN.test(s))
    .optional()
    .transform((s) => s || null),
  expiresAt: z.coerce
    .string()
    .regex(/^\d{0,15}$/)
    .optional()
    .transform((s) => (s ? Number(s) : null)),
});

/** The principal in `event.requestContext.authorizer`; null when absent or not one the authorizer wrote. */
export const principalFromContext = (context: unknown): Principal | null => {
  const parsed = contextSchema.safeParse(context);
  if (!parsed.success) return null;
  const { principal, ...rest } = parsed.data;
  return { name: principal, ...rest };
};

/**
 * Every `Authorization` value a request carries, whatever the header names' case: API Gateway keeps
 * `Authorization` and `authorization` apart (and repeats in multiValueHeaders), so which one "counts"
 * would depend on case. More than one is refused (401 at the authorizer, 400 at a handler).
 */
export const authorizationValuesOf = (event: {
  readonly headers?: Readonly<Record<string, string | undefined>> | null;
  readonly multiValueHeaders?: Readonly<Record<string, readonly string[] | undefined>> | null;
}): string[] => {
  const values: string[] = [];
  const multi = event.multiValueHeaders ?? {};
  for (const [name, list] of Object.entries(multi)) {
    if (name.toLowerCase() === 'authorization') values.push(...(list ?? []));
  }
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (name.toLowerCase() !== 'authorization' || value === undefined) continue;
    // headers holds the last of each name's values; multiValueHeaders, when present, has them all.
    if (!Object.keys(multi).some((k) => k.toLowerCase() === 'authorization' && k === name))
      values.push(value);
  }
  return values;
};
