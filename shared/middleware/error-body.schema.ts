import * as z from 'zod';
import { DEPENDENCIES, RATE_LIMIT_SCOPES } from '#shared/domain/errors';

/**
 * Every error answer's JSON body (error-mapper.ts for the handlers, gateway-responses.ts for API
 * Gateway's own): `error` is a stable code to branch on, `message` is for people; some errors add fields.
 */
export const errorBodySchema = z
  .looseObject({
    error: z.string().meta({ description: 'Stable code, e.g. validation_error, route_not_found' }),
    message: z.string(),
    field: z.string().optional().meta({ description: 'validation_error: the first field at fault' }),
    rule: z.string().optional().meta({ description: 'validation_error: the rule it broke' }),
    issues: z
      .array(z.object({ field: z.string(), rule: z.string(), message: z.string() }))
      .optional()
      .meta({ description: 'validation_error: every field at fault' }),
    current_revision: z
      .number()
      .int()
      .nullable()
      .optional()
      .meta({ description: 'precondition_failed, nothing_to_roll_back: the route’s revision now' }),
    scope: z.enum(RATE_LIMIT_SCOPES).optional().meta({ description: 'rate_limited: which bucket' }),
    retry_after_seconds: z.number().int().optional(),
    dependency: z.enum(DEPENDENCIES).optional().meta({ description: 'dependency_unavailable: which one' }),
  })
  .meta({ id: 'Error' });

export type ErrorBody = z.output<typeof errorBodySchema>;
