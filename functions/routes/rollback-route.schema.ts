import * as z from 'zod';
import { routeKeySchema } from '#shared/domain/route.schema';

const POSITIVE = 'must be a positive integer';

/** POST /api/v1/routes/rollback: the route, and optionally the revision whose state to restore. */
export const rollbackRouteBodySchema = routeKeySchema.extend({
  to_revision: z
    .number({ error: POSITIVE })
    .int({ error: POSITIVE })
    .positive({ error: POSITIVE })
    .optional(),
});
