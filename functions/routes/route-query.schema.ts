import * as z from 'zod';
import { ValidationError } from '#shared/domain/errors';
import type { RouteListCursor, RouteListQuery } from '#shared/domain/route';
import { NAME_PATTERN, nameSchema, parseOrThrow } from '#shared/domain/route.schema';
import { intParam } from '#shared/middleware/route-params';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** GET /api/v1/routes: the query parameters it reads (everything else in the query string is ignored). */
export const listRoutesQuerySchema = z.object({
  tenant: nameSchema,
  service: nameSchema.optional(),
  env: nameSchema.optional(),
  active: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
  limit: intParam(1, MAX_LIMIT, DEFAULT_LIMIT),
  cursor: z.string().max(512).optional().meta({ description: 'The previous page’s `next_cursor`' }),
});

export const LIST_PARAMS = Object.keys(
  listRoutesQuerySchema.shape,
) as (keyof typeof listRoutesQuerySchema.shape)[];

/** The opaque cursor: base64url of the page's last (service, env, version). */
export const encodeRouteCursor = (c: RouteListCursor): string =>
  Buffer.from(JSON.stringify([c.service, c.env, c.version])).toString('base64url');

const name = z.string().regex(NAME_PATTERN);
const cursorSchema = z.tuple([name, name, name]);

const decodeRouteCursor = (raw: string): RouteListCursor => {
  try {
    const [service, env, version] = cursorSchema.parse(
      JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')),
    );
    return { service, env, version };
  } catch {
    throw new ValidationError([
      { field: 'cursor', rule: 'format', message: 'must be a next_cursor value from a previous page' },
    ]);
  }
};

export const parseListRoutesQuery = (params: Record<string, string | undefined>): RouteListQuery => {
  const p = parseOrThrow(listRoutesQuerySchema, params);
  return {
    tenant: p.tenant,
    limit: p.limit,
    ...(p.service !== undefined ? { service: p.service } : {}),
    ...(p.env !== undefined ? { env: p.env } : {}),
    ...(p.active !== undefined ? { active: p.active === 'true' } : {}),
    ...(p.cursor !== undefined ? { after: decodeRouteCursor(p.cursor) } : {}),
  };
};
