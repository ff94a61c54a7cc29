import { mayActOn, type Principal } from '#shared/domain/auth';
import { ForbiddenError, UnauthorizedError } from '#shared/domain/errors';
import type { HttpRequest } from './http.ts';

/** The caller of a guarded route (httpHandler has checked its role and expiry already). */
export const principalOf = (req: HttpRequest): Principal => {
  if (!req.principal) throw new UnauthorizedError('missing');
  return req.principal;
};

/**
 * The caller, if its token covers `tenant`; a 403 otherwise. Each handler calls this with the tenant
 * it parsed, before it reads or changes anything (and before the tenant's rate limit is charged, so
 * a caller cannot spend another tenant's budget).
 */
export const authorize = (req: HttpRequest, tenant: string): Principal => {
  const principal = principalOf(req);
  if (!mayActOn(principal, tenant)) throw new ForbiddenError('this token does not cover that tenant');
  return principal;
};

/** The tenants a tenant-less query must be limited to; undefined when the token covers every tenant. */
export const tenantFilterOf = (principal: Principal): readonly string[] | undefined =>
  principal.tenants === '*' ? undefined : principal.tenants;
