import * as z from 'zod';
import { nameSchema } from '#shared/domain/route.schema';
import { resolveSplitQuerySchema } from './split.schema.ts';

/**
 * The answers of /api/v1/splits and of resolve without a version, as zod schemas for the API description
 * (OpenAPI). Not imported by the handlers at run time (only its types are), so the bundles stay small.
 */

/** Every query resolve reads: with `version` a route (routeKeySchema), without it the split's choice. */
export const resolveQuerySchema = resolveSplitQuerySchema.extend({ version: nameSchema.optional() });

/** A split as every answer shows it. */
export const splitResponseSchema = z.object({
  tenant: z.string(),
  service: z.string(),
  env: z.string(),
  /** In the fixed order (byte order of the version names); null once deleted. */
  weights: z.record(z.string(), z.number().int()).nullable(),
  revision: z.number().int(),
});

/** PUT (201 created, 200 updated/unchanged) and DELETE (200 deleted) answers. */
export const splitWriteResponseSchema = z.object({
  message: z.string(),
  outcome: z.enum(['created', 'updated', 'unchanged', 'deleted']),
  split: splitResponseSchema,
});

/** 200 of resolve without a version. */
export const resolveSplitResponseSchema = z.object({
  url: z.string(),
  version: z.string(),
  split_revision: z.number().int(),
  /** False when no key was given (the version was chosen at random by weight). */
  sticky: z.boolean(),
});

export type SplitWriteResponse = z.infer<typeof splitWriteResponseSchema>;
