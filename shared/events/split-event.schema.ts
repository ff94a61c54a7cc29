import * as z from 'zod';
import { isSplitEvent, type OutboxEvent } from '#shared/domain/outbox-event';
import { NAME_PATTERN } from '#shared/domain/route.schema';
import type { SplitChangedEvent, SplitKey } from '#shared/domain/split';
import {
  type EncodedMessage,
  EVENT_HEADERS,
  encodeRouteEvent,
  ROUTE_EVENT_SCHEMA_VERSION,
  routeEventSchema,
} from './route-event.schema.ts';

/**
 * The `split_changed` event on the wire (topic `route-events`, beside `route_changed`; header
 * `event-type` tells them apart). Same schema version and conventions as route events: snake_case,
 * RFC 3339 UTC times, additive changes only within a version.
 */
export const SPLIT_CHANGED = 'split_changed';

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

export const toSplitWireEvent = (e: SplitChangedEvent): SplitEventWire => ({
  schema_version: ROUTE_EVENT_SCHEMA_VERSION,
  event_id: e.eventId,
  event_type: SPLIT_CHANGED,
  action: SPLIT_CHANGED,
  tenant: e.tenant,
  service: e.service,
  env: e.env,
  weights: e.weights ? { ...e.weights } : null,
  previous_weights: e.previousWeights ? { ...e.previousWeights } : null,
  revision: e.revision,
  cache_revision: e.cacheRevision,
  changed_by: e.changedBy,
  changed_by_token_id: e.changedByTokenId ?? null,
  occurred_at: e.occurredAt,
  correlation_id: e.correlationId,
});

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

/**
 * Message key `{tenant}:{service}:{env}` (three parts, so never a route's four-part key): one split →
 * one partition → its events in revision order.
 */
export const splitEventKey = (k: SplitKey): string =>
  [k.tenant, k.service, k.env].map(encodeURIComponent).join(':');

export const encodeSplitEvent = (e: SplitChangedEvent): EncodedMessage => ({
  key: splitEventKey(e),
  value: JSON.stringify(toSplitWireEvent(e)),
  headers: {
    [EVENT_HEADERS.eventType]: SPLIT_CHANGED,
    [EVENT_HEADERS.schemaVersion]: String(ROUTE_EVENT_SCHEMA_VERSION),
    ...(e.correlationId ? { [EVENT_HEADERS.correlationId]: e.correlationId } : {}),
  },
});

/** Any outbox event as its Kafka message. */
export const encodeOutboxEvent = (e: OutboxEvent): EncodedMessage =>
  isSplitEvent(e) ? encodeSplitEvent(e) : encodeRouteEvent(e);
