import * as z from 'zod';
import { NAME_PATTERN } from '#shared/domain/route.schema';
import type { SplitChangedEvent } from '#shared/domain/split';
import { routeEventSchema } from './route-event.schema.ts';
import { SPLIT_CHANGED } from './split-event.encode.ts';

/**
 * The `split_changed` event on the wire (topic `route-events`, beside `route_changed`; header
 * `event-type` tells them apart). Same schema version and conventions as route events: snake_case,
 * RFC 3339 UTC times, additive changes only within a version.
 */
export { SPLIT_CHANGED };

const name = z.string().regex(NAME_PATTERN);
const weights = z.record(name, z.number().int().min(0).max(100));

export const splitEventSchema = z.object({
  schema_version: routeEventSchema.shape.schema_version,
  event_id: routeEventSchema.shape.event_id,
  event_type: z.literal(SPLIT_CHANGED),
  action: z.literal(SPLIT_CHANGED),
  tenant: name,
  service: name,
  env: name,
  /** Null when the change deleted the split. */
  weights: weights.nullable(),
  /** Null when the change created the split. */
  previous_weights: weights.nullable(),
  revision: z.number().int().positive(),
  /** The split's cache revision after the change (consumers tombstone and warm at it). */
  cache_revision: z.number().int().positive(),
  changed_by: routeEventSchema.shape.changed_by,
  changed_by_token_id: routeEventSchema.shape.changed_by_token_id,
  occurred_at: routeEventSchema.shape.occurred_at,
  correlation_id: routeEventSchema.shape.correlation_id,
});

export type SplitEventWire = z.infer<typeof splitEventSchema>;

export const fromSplitWireEvent = (w: SplitEventWire): SplitChangedEvent => ({
  eventId: w.event_id,
  eventType: SPLIT_CHANGED,
  action: SPLIT_CHANGED,
  tenant: w.tenant,
  service: w.service,
  env: w.env,
  weights: w.weights,
  previousWeights: w.previous_weights,
  revision: w.revision,
  cacheRevision: w.cache_revision,
  changedBy: w.changed_by,
  ...(w.changed_by_token_id != null ? { changedByTokenId: w.changed_by_token_id } : {}),
  occurredAt: w.occurred_at,
  correlationId: w.correlation_id,
});
