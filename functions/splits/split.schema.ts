import * as z from 'zod';
import { NAME_PATTERN, nameSchema } from '#shared/domain/route.schema';
import {
  MAX_SPLIT_VERSIONS,
  type SplitKey,
  type SplitRecord,
  type SplitWriteResult,
  type Weights,
} from '#shared/domain/split';
import type { SplitWriteResponse } from './split-response.schema.ts';

/**
 * The request and response shapes of /api/v1/splits and of resolve without a version, as zod schemas
 * (the handlers parse with the request ones; the response ones document the answers, for OpenAPI).
 */

const WEIGHT = 'must be an integer from 0 to 100';

/**
 * Checked by hand rather than with z.record: that schema type alone adds about 5 KB to the write bundle,
 * which sits at the 1 MB limit. Each problem names its field (`weights`, or `weights.<version>`).
 */
export const weightsSchema = z
  .unknown()
  .transform((value, ctx): Weights => {
    const issue = (message: string, rule: string, path: string[] = []) =>
      ctx.addIssue({ code: 'custom', message, path, params: { rule } });
    if (value === undefined) {
      issue('is required', 'required');
      return z.NEVER;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      issue('must be an object of version: weight', 'type');
      return z.NEVER;
    }
    const entries = Object.entries(value);
    let problems = 0;
    for (const [version, weight] of entries) {
      if (!NAME_PATTERN.test(version))
        issue('each version must be a valid version name', 'format', [version]);
      else if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > 100)
        issue(WEIGHT, 'range', [version]);
      else continue;
      problems++;
    }
    if (problems > 0) return z.NEVER;
    if (entries.length < 1 || entries.length > MAX_SPLIT_VERSIONS) {
      issue(`must name 1 to ${MAX_SPLIT_VERSIONS} versions`, 'versions');
      return z.NEVER;
    }
    const sum = entries.reduce((total, [, w]) => total + (w as number), 0);
    if (sum !== 100) {
      issue(`must sum to 100 (they sum to ${sum})`, 'sum');
      return z.NEVER;
    }
    return Object.fromEntries(entries) as Weights;
  })
  .meta({
    description: `Version name: integer weight 0-100; 1 to ${MAX_SPLIT_VERSIONS} versions, summing to 100`,
    override: {
      type: 'object',
      additionalProperties: { type: 'integer', minimum: 0, maximum: 100 },
      minProperties: 1,
      maxProperties: MAX_SPLIT_VERSIONS,
    },
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

export const splitWriteBody = (r: SplitWriteResult): SplitWriteResponse => ({
  message: MESSAGES[r.outcome],
  outcome: r.outcome,
  split: splitBody(r.key, r.weights, r.revision),
});
