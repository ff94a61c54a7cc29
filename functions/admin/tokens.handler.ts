import { getAdmitDeps } from '#shared/composition/cache-clients';
import { getTokenAdminDeps } from '#shared/composition/token-clients';
import { requireBindings } from '#shared/config/config';
import { EndpointNotFoundError } from '#shared/domain/errors';
import { parseOrThrow } from '#shared/domain/route.schema';
import { principalOf } from '#shared/middleware/authorize';
import { type HttpRequest, json } from '#shared/middleware/http';
import { httpHandler, jsonBody } from '#shared/middleware/http-handler';
import { enforceRateLimit } from '#shared/middleware/rate-limit';
import { queryParams } from '#shared/middleware/route-params';
import {
  createToken,
  listTokens,
  revokeToken,
  tokenAuditPage,
} from '#shared/use-cases/manage-tokens.use-case';
import { functionManifest } from '../function-manifest.ts';
import { accessOf } from '../route-table.ts';
import {
  type CreatedTokenBody,
  createTokenBodySchema,
  decodeAuditCursor,
  encodeAuditCursor,
  listTokensQuerySchema,
  type RevokedTokenBody,
  revokeTokenBodySchema,
  type TokenAuditPageBody,
  type TokenListBody,
  tokenAuditBody,
  tokenAuditQuerySchema,
  tokenBody,
} from './tokens.schema.ts';

requireBindings(functionManifest.tokens);

const deps = getTokenAdminDeps();
const admitDeps = getAdmitDeps();

const changeContext = (req: HttpRequest) => ({
  actor: principalOf(req).name,
  actorTokenId: principalOf(req).tokenId,
  correlationId: req.correlationId,
});

const ROUTES: Record<string, (req: HttpRequest) => Promise<ReturnType<typeof json>>> = {
  /** 201 with the secret: the only time it is ever shown. */
  'POST /api/v1/admin/tokens': async (req) => {
    const body = parseOrThrow(createTokenBodySchema, jsonBody(req));
    const { token, secret } = await createToken(
      deps,
      {
        principal: body.principal,
        role: body.role,
        tenants: body.tenants,
        expiresInDays: body.expires_in_days,
      },
      changeContext(req),
    );
    return json(201, {
      message: 'Token created: store the secret now, it is not shown again',
      token: tokenBody(token, deps.now()),
      secret,
    } satisfies CreatedTokenBody);
  },
  'GET /api/v1/admin/tokens': async (req) => {
    const { limit } = parseOrThrow(listTokensQuerySchema, queryParams(req, ['limit']));
    const now = deps.now();
    const tokens = (await listTokens(deps, limit)).map((t) => tokenBody(t, now));
    return json(200, { tokens, count: tokens.length } satisfies TokenListBody);
  },
  'POST /api/v1/admin/tokens/revoke': async (req) => {
    const body = parseOrThrow(revokeTokenBodySchema, jsonBody(req));
    const { outcome, token } = await revokeToken(deps, body.id, changeContext(req), {
      allowLastAdmin: body.allow_last_admin,
    });
    return json(200, {
      outcome,
      token: tokenBody(token, deps.now()),
    } satisfies RevokedTokenBody);
  },
  'GET /api/v1/admin/tokens/audit': async (req) => {
    const q = parseOrThrow(tokenAuditQuerySchema, queryParams(req, ['limit', 'cursor', 'token_id']));
    const { entries, next } = await tokenAuditPage(deps, {
      limit: q.limit,
      ...(q.cursor !== undefined ? { beforeSeq: decodeAuditCursor(q.cursor) } : {}),
      ...(q.token_id !== undefined ? { tokenId: q.token_id } : {}),
    });
    return json(200, {
      entries: entries.map(tokenAuditBody),
      count: entries.length,
      next_cursor: next === null ? null : encodeAuditCursor(next),
    } satisfies TokenAuditPageBody);
  },
};

/**
 * Token administration (admin tokens only): POST /api/v1/admin/tokens {principal, role, tenants,
 * expires_in_days} → 201 {token, secret}; GET /api/v1/admin/tokens → {tokens}; POST
 * /api/v1/admin/tokens/revoke {id} → {outcome, token}; GET /api/v1/admin/tokens/audit → {entries}.
 * Creates and revokes are recorded in the append-only token_audit table in the same transaction.
 */
export const handler = httpHandler(accessOf('tokens'), async (req) => {
  const route = ROUTES[`${req.method} ${req.resource}`];
  if (!route) throw new EndpointNotFoundError(`no token endpoint at ${req.path}`);
  await enforceRateLimit(admitDeps, principalOf(req), { operation: 'admin' });
  return route(req);
});
