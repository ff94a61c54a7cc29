import type { WriteContext } from '#shared/domain/route';
import { principalOf } from './authorize.ts';
import type { HttpRequest } from './http.ts';

/** Who made a change: the API token's principal (a caller can no longer name itself). */
export const writeContextOf = (req: HttpRequest): WriteContext => ({
  changedBy: principalOf(req).name,
  correlationId: req.correlationId,
});
