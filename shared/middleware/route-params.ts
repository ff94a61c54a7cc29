import * as z from 'zod';
import { ValidationError } from '#shared/domain/errors';
import type { HttpRequest } from './http.ts';

/**
 * Picks named query parameters as plain strings. A parameter given twice is an error, and only the
 * named ones are read, so `tenant[$ne]=x` is simply an unknown parameter, never an operator.
 */
export const queryParams = <K extends string>(
  req: HttpRequest,
  names: readonly K[],
): Record<K, string | undefined> => {
  const out = {} as Record<K, string | undefined>;
  for (const name of names) {
    const all = req.multiQuery[name];
    if (all && all.length > 1) {
      throw new ValidationError([{ field: name, rule: 'single_value', message: 'must be given once' }]);
    }
    out[name] = req.query[name];
  }
  return out;
};

/** An optional integer query parameter from `min` to `max`, `fallback` when absent. */
export const intParam = (min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d{1,7}$/, { error: `must be an integer from ${min} to ${max}`, abort: true })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, { error: `must be at least ${min}` })
        .max(max, { error: `must be at most ${max}` }),
    )
    .optional()
    .transform((v) => v ?? fallback)
    // How docs/openapi.json shows it: an integer parameter (a query string carries it as digits).
    .meta({
      override: ({ jsonSchema }: { jsonSchema: Record<string, unknown> }) => {
        delete jsonSchema.pattern;
        Object.assign(jsonSchema, { type: 'integer', minimum: min, maximum: max, default: fallback });
      },
    });
