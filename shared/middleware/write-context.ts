import { ValidationError } from '#shared/domain/errors';
import type { WriteContext } from '#shared/domain/route';
import { ACTOR_PATTERN } from '#shared/domain/route.schema';
import type { HttpRequest } from './http.ts';

/** Who made a change. Until tokens exist, callers may name themselves in `X-Changed-By`. */
export const writeContextOf = (req: HttpRequest): WriteContext => {
  const claimed = req.headers['x-changed-by'];
  if (claimed !== undefined && !ACTOR_PATTERN.test(claimed)) {
    throw new ValidationError([
      {
        field: 'X-Changed-By',
        rule: 'format',
        message: 'must be 1-128 characters of letters, digits and . _ @ + : / -',
      },
    ]);
  }
  return { changedBy: claimed ?? 'anonymous', correlationId: req.correlationId };
};
