import * as z from 'zod';
import type { RouteWriteResult } from '#shared/domain/route';

/**
 * What the route endpoints answer, as zod schemas: route-response.ts builds its bodies as these types and
 * docs/openapi.json documents them (functions/openapi), so the document and the code cannot differ.
 */
export const routeSchema = z
  .object({
    tenant: z.string(),
    service: z.string(),
    env: z.string(),
    version: z.string(),
    url: z.string(),
    is_active: z.boolean(),
    revision: z.number().int().positive(),
  })
  .meta({ id: 'Route', description: 'A route as every answer shows it; `revision` is also its ETag' });

export const WRITE_OUTCOMES = [
  'created',
  'updated',
  'unchanged',
  'activated',
  'deactivated',
  'rolled_back',
] as const satisfies readonly RouteWriteResult['outcome'][];

export const routeWriteResponseSchema = z
  .object({
    message: z.string(),
    outcome: z.enum(WRITE_OUTCOMES),
    route: routeSchema,
    restored_revision: z
      .number()
      .int()
      .positive()
      .optional()
      .meta({ description: 'rolled_back only: the revision whose URL and state were restored' }),
  })
  .meta({ id: 'RouteWriteResult' });

export const routeDetailSchema = routeSchema
  .extend({
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    created_by: z.string(),
    updated_by: z.string(),
  })
  .meta({ id: 'RouteDetail', description: 'One route, active or not, with who created and last changed it' });

export const routeListResponseSchema = z
  .object({
    routes: z.array(routeSchema),
    next_cursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass as `cursor` for the next page; null on the last page' }),
  })
  .meta({ id: 'RouteList' });

/** GET /api/v1/routes/resolve */
export const resolveRouteResponseSchema = z
  .object({ url: z.string().meta({ description: 'The active route’s endpoint URL' }) })
  .meta({ id: 'ResolvedRoute' });

export type RouteBody = z.output<typeof routeSchema>;
export type RouteWriteBody = z.output<typeof routeWriteResponseSchema>;
export type RouteDetailBody = z.output<typeof routeDetailSchema>;
export type RouteListBody = z.output<typeof routeListResponseSchema>;
export type ResolveRouteBody = z.output<typeof resolveRouteResponseSchema>;
