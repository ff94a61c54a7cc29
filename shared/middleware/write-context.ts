import type { WriteContext } from '#shared/domain/route';
import { principalOf } from './authorize.ts';
import type { HttpRequest } from './http.ts';

/**
 * Who made a change: the API token's principal (a caller can no longer name itself) and the token's id
 * (names are labels; the id tells two tokens' changes apart).
 */
export const writeContextOf = (req: HttpRequest): WriteContext => {
  const principal = principalOf(req);
  return { changedBy: principal.name, changedByTokenId: principal.tokenId, correlationId: req.correlationId };
};
