import * as z from 'zod';
import { NAME_PATTERN, nameSchema } from '#shared/domain/route.schema';
import {
  MAX_SPLIT_VERSIONS,
  type SplitKey,
  type SplitRecord,
  type SplitWriteResult,
} from '#shared/domain/split';

/**
 * The request and response shapes of /api/v1/splits and of resolve without a version, as zod schemas
 * (the handlers parse with the request ones; the response ones document the answers, for OpenAPI).
 */

const WEIGHT = 'must be an integer from 0 to 100';

export const weightsSchema = z
  .record(
    z.string().regex(NAME_PATTERN, { error: 'each version must be a valid version name' }),
    z.number({ error: WEIGHT }).int({ error: WEIGHT }).min(0, { error: WEIGHT }).max(100, { error: WEIGHT }),
    {
      error: (i) =>
        i.code === 'invalid_key'
          ? 'each version must be a valid version name'
          : 'must be an object of version: weight',
    },
  )
  .superRefine((weights, ctx) => {
    const versions = Object.keys(weights);
    if (versions.length < 1 || versions.length > MAX_SPLIT_VERSIONS) {
      ctx.addIssue({
        code: 'custom',
        message: `must name 1 to ${MAX_SPLIT_VERSIONS} versions`,
        params: { rule: 'versions' },
      });
      return;
    }
    const sum = versions.reduce((total, v) => total + weights[v]!, 0);
    if (sum !== 100) {
      ctx.addIssue({
        code: 'custom',
        message: `must sum to 100 (they sum to ${sum})`,
        params: { rule: 'sum' },
      });
    }
  });

/** GET and DELETE /api/v1/splits?tenant=&service=&env= */
export const splitKeySchema = z.object({ tenant: nameSchema, service: nameSchema, env: nameSchema });

/** PUT /api/v1/splits */
export const putSplitBodySchema = splitKeySchema.extend({ weights: weightsSchema });

export const ROUTE_KEY_MAX_LENGTH = 256;

/**
 * GET /api/v1/routes/resolve without `version`: the caller's key for stickiness, from `key` or the
 * `X-Route-Key` header (either; both must agree).
 */
export const resolveSplitQuerySchema = splitKeySchema.extend({
  key: z
    .string()
    .min(1, { error: 'must not be empty' })
    .max(ROUTE_KEY_MAX_LENGTH, { error: `must be at most ${ROUTE_KEY_MAX_LENGTH} characters` })
    .optional(),
});

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

export const splitBody = (key: SplitKey, weights: SplitRecord['weights'] | null, revision: number) => ({
  tenant: key.tenant,
  service: key.service,
  env: key.env,
  weights,
  revision,
});

const MESSAGES: Record<SplitWriteResult['outcome'], string> = {
  created: 'Split created successfully',
  updated: 'Split updated successfully',
  unchanged: 'Split unchanged',
  deleted: 'Split deleted successfully',
};

export const splitWriteBody = (r: SplitWriteResult): z.infer<typeof splitWriteResponseSchema> => ({
  message: MESSAGES[r.outcome],
  outcome: r.outcome,
  split: splitBody(r.key, r.weights, r.revision),
});
