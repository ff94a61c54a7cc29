import * as z from 'zod';
import { ROUTE_ACTIONS, type RouteChangedEvent, type RouteKey } from '#shared/domain/route';
import { NAME_PATTERN, URL_MAX_LENGTH } from '#shared/domain/route.schema';

/**
 * The `route_changed` event on the wire (topic `route-events`): the seed's snake_case format, shared by
 * the producer (outbox relay, write path) and every consumer. The domain type stays camelCase.
 *
 * Versioning: `schema_version` is in the body and in the `schema-version` header. Additive changes
 * (new optional fields) keep the version; anything a v1 consumer could misread bumps it, and consumers
 * send versions they do not know to the failure destination instead of guessing. The `rolled_back` action
 * and `restored_revision` were added within version 1: a consumer built before them refuses such an event
 * as malformed (failure destination, kept for redrive) rather than misreading it. `changed_by_token_id`
 * is additive (optional, nullable): events written before it decode as before, and an older consumer
 * ignores it (zod strips unknown keys). `batch_id` (issue 15) is additive the same way: present only on
 * the events of a bulk change.
 */
export const ROUTE_EVENT_SCHEMA_VERSION = 1;
export const ROUTE_CHANGED = 'route_changed';

export const EVENT_HEADERS = {
  correlationId: 'x-correlation-id',
  eventType: 'event-type',
  schemaVersion: 'schema-version',
} as const;

const name = z.string().regex(NAME_PATTERN);

export const routeEventSchema = z.object({
  schema_version: z.literal(ROUTE_EVENT_SCHEMA_VERSION),
  event_id: z.uuid(),
  event_type: z.literal(ROUTE_CHANGED),
  action: z.enum(ROUTE_ACTIONS),
  tenant: name,
  service: name,
  env: name,
  version: name,
  url: z.string().min(1).max(URL_MAX_LENGTH),
  previous_url: z.string().max(URL_MAX_LENGTH).nullable(),
  previous_state: z.enum(['active', 'inactive']).nullable(),
  revision: z.number().int().positive(),
  /** `rolled_back`: the revision whose URL and state were restored; null (or absent) otherwise. */
  restored_revision: z.number().int().positive().nullable().optional(),
  changed_by: z.string().min(1).max(256),
  /** The acting token's public id; null with auth off, absent from events written before it existed. */
  changed_by_token_id: z
    .string()
    .regex(/^[a-z2-7]{16}$/)
    .nullable()
    .optional(),
  /** RFC 3339, UTC (`Z`). */
  occurred_at: z.iso.datetime({ offset: false }),
  correlation_id: z.string().max(256).nullable(),
  /** Every event of one bulk change (POST /api/v1/routes/batch) shares it; absent from single writes. */
  batch_id: z.uuid().nullable().optional(),
});

export type RouteEventWire = z.infer<typeof routeEventSchema>;

export const toWireEvent = (e: RouteChangedEvent): RouteEventWire => ({
  schema_version: ROUTE_EVENT_SCHEMA_VERSION,
  event_id: e.eventId,
  event_type: ROUTE_CHANGED,
  action: e.action,
  tenant: e.tenant,
  service: e.service,
  env: e.env,
  version: e.version,
  url: e.url,
  previous_url: e.previousUrl,
  previous_state: e.previousState,
  revision: e.revision,
  restored_revision: e.restoredRevision ?? null,
  changed_by: e.changedBy,
  changed_by_token_id: e.changedByTokenId ?? null,
  occurred_at: e.occurredAt,
  correlation_id: e.correlationId,
  ...(e.batchId ? { batch_id: e.batchId } : {}),
});

export const fromWireEvent = (w: RouteEventWire): RouteChangedEvent => ({
  eventId: w.event_id,
  eventType: ROUTE_CHANGED,
  action: w.action,
  tenant: w.tenant,
  service: w.service,
  env: w.env,
  version: w.version,
  url: w.url,
  previousUrl: w.previous_url,
  previousState: w.previous_state,
  revision: w.revision,
  ...(w.restored_revision != null ? { restoredRevision: w.restored_revision } : {}),
  changedBy: w.changed_by,
  ...(w.changed_by_token_id != null ? { changedByTokenId: w.changed_by_token_id } : {}),
  occurredAt: w.occurred_at,
  correlationId: w.correlation_id,
  ...(w.batch_id != null ? { batchId: w.batch_id } : {}),
});

/**
 * Message key: the seed's `{tenant}:{service}:{env}:{version}`, each part percent-encoded. Valid names
 * need no encoding (so the key reads exactly as in the seed), and no name could ever contain a bare `:`,
 * so two routes can never share a key. One route → one key → one partition → per-route order.
 */
export const routeEventKey = (k: RouteKey): string =>
  [k.tenant, k.service, k.env, k.version].map(encodeURIComponent).join(':');

export interface EncodedMessage {
  readonly key: string;
  readonly value: string;
  readonly headers: Record<string, string>;
}

export const encodeRouteEvent = (e: RouteChangedEvent): EncodedMessage => ({
  key: routeEventKey(e),
  value: JSON.stringify(toWireEvent(e)),
  headers: {
    [EVENT_HEADERS.eventType]: ROUTE_CHANGED,
    [EVENT_HEADERS.schemaVersion]: String(ROUTE_EVENT_SCHEMA_VERSION),
    ...(e.correlationId ? { [EVENT_HEADERS.correlationId]: e.correlationId } : {}),
  },
});
