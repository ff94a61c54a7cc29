import { isSplitEvent, type OutboxEvent } from '#shared/domain/outbox-event';
import type { SplitChangedEvent, SplitKey } from '#shared/domain/split';
import {
  type EncodedMessage,
  EVENT_HEADERS,
  encodeRouteEvent,
  ROUTE_EVENT_SCHEMA_VERSION,
} from './route-event.schema.ts';
import type { SplitEventWire } from './split-event.schema.ts';

/**
 * Producing `split_changed` (the write path and the relay): no zod here, so the write functions' bundles
 * carry only the encoder; consumers decode with split-event.schema.ts.
 */
export const SPLIT_CHANGED = 'split_changed';

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
