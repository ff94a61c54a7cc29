import * as z from 'zod';
import { splitKeySchema } from '#functions/splits/split.schema';
import { routeKeySchema } from '#shared/domain/route.schema';
import { AUDIT_ACTIONS } from '#shared/ports/audit-store.port';

/**
 * The answers of the audit queries, as zod schemas for the API description (OpenAPI). Not imported by the
 * handler at run time (only its types are): `.meta()` registers each schema, so esbuild cannot drop them.
 */

const routeStateSchema = z.enum(['active', 'inactive']);
const auditWeightsSchema = z.record(z.string(), z.number().int());

/** An audit document as the API returns it (auditEventBody builds it; docs/openapi.json shows it). */
export const auditEventSchema = z
  .object({
    event_id: z.uuid(),
    event_type: z.enum(['route_changed', 'split_changed']),
    action: z.enum(AUDIT_ACTIONS),
    /** A split_changed event's key has no version. */
    route: z.union([routeKeySchema, splitKeySchema]),
    /** Null for split_changed. */
    url: z.string().nullable(),
    previous_url: z.string().nullable(),
    previous_state: routeStateSchema.nullable(),
    revision: z.number().int(),
    restored_revision: z.number().int().nullable(),
    changed_by: z.string(),
    changed_by_token_id: z.string().nullable(),
    correlation_id: z.string().nullable(),
    /** The bulk change (POST /api/v1/routes/batch) the event was part of; null for single writes. */
    batch_id: z.string().nullable(),
    occurred_at: z.iso.datetime(),
    processed_at: z.iso.datetime(),
    /** split_changed only: the weights after (null: deleted) and before (null: created). */
    weights: auditWeightsSchema.nullable().optional(),
    previous_weights: auditWeightsSchema.nullable().optional(),
  })
  .meta({ id: 'AuditEvent' });

/** Every audit query's answer: newest first. */
export const auditPageSchema = z
  .object({
    events: z.array(auditEventSchema),
    count: z.number().int(),
    next_cursor: z.string().nullable(),
  })
  .meta({ id: 'AuditPage' });

export type AuditEventBody = z.output<typeof auditEventSchema>;
export type AuditPageBody = z.output<typeof auditPageSchema>;
