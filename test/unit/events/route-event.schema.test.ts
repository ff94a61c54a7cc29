import { describe, expect, it } from 'vitest';
import {
  EVENT_HEADERS,
  encodeRouteEvent,
  fromWireEvent,
  routeEventKey,
  routeEventSchema,
  toWireEvent,
} from '#shared/events/route-event.schema';
import { routeEvent } from './event-fakes.ts';

describe('route event wire format', () => {
  it('round-trips a domain event through the snake_case wire format', () => {
    const event = routeEvent({
      action: 'updated',
      previousUrl: 'https://old.example.com',
      previousState: 'active',
    });

    const wire = toWireEvent(event);

    expect(wire).toMatchObject({
      schema_version: 1,
      event_id: event.eventId,
      event_type: 'route_changed',
      previous_url: 'https://old.example.com',
      previous_state: 'active',
      changed_by: 'alice',
      occurred_at: event.occurredAt,
      correlation_id: event.correlationId,
    });
    expect(fromWireEvent(routeEventSchema.parse(JSON.parse(JSON.stringify(wire))))).toEqual(event);
  });

  it('keys messages by route in the seed format, with no two routes sharing a key', () => {
    expect(routeEventKey({ tenant: 'team-a', service: 'payments', env: 'prod', version: 'v2' })).toBe(
      'team-a:payments:prod:v2',
    );
    expect(routeEventKey({ tenant: 'a:b', service: 'c', env: 'd', version: 'e' })).not.toBe(
      routeEventKey({ tenant: 'a', service: 'b:c', env: 'd', version: 'e' }),
    );
  });

  it('carries correlation id, event type and schema version in headers', () => {
    const event = routeEvent({ correlationId: 'req-1' });

    const message = encodeRouteEvent(event);

    expect(message.headers).toEqual({
      [EVENT_HEADERS.correlationId]: 'req-1',
      [EVENT_HEADERS.eventType]: 'route_changed',
      [EVENT_HEADERS.schemaVersion]: '1',
    });
    expect(message.key).toBe(routeEventKey(event));
  });

  it.each([
    ['an offset time', { occurred_at: '2026-01-01T01:00:00+01:00' }],
    ['an unknown action', { action: 'deleted' }],
    ['a zero revision', { revision: 0 }],
    ['another schema version', { schema_version: 2 }],
    ['a tenant with a separator', { tenant: 'a:b' }],
  ])('rejects %s', (_name, patch) => {
    const wire = { ...toWireEvent(routeEvent()), ...patch };
    expect(routeEventSchema.safeParse(wire).success).toBe(false);
  });
});

describe('route event wire format: rollbacks', () => {
  it('carries rolled_back and restored_revision, and still reads v1 events without restored_revision', () => {
    const event = routeEvent({ action: 'rolled_back', revision: 5, restoredRevision: 3 });

    const wire = toWireEvent(event);

    expect(wire).toMatchObject({ schema_version: 1, action: 'rolled_back', restored_revision: 3 });
    expect(fromWireEvent(routeEventSchema.parse(JSON.parse(JSON.stringify(wire))))).toEqual(event);
    const { restored_revision: _, ...older } = toWireEvent(routeEvent());
    expect(routeEventSchema.safeParse(older).success).toBe(true);
  });
});

describe('route event wire format: the acting token id (issue 16.2)', () => {
  it('carries changed_by_token_id, and still decodes events written before it', () => {
    const event = routeEvent({ changedByTokenId: 'abcdefghijklmnop' });

    const wire = toWireEvent(event);

    expect(wire).toMatchObject({
      schema_version: 1,
      changed_by: 'alice',
      changed_by_token_id: 'abcdefghijklmnop',
    });
    expect(fromWireEvent(routeEventSchema.parse(JSON.parse(JSON.stringify(wire))))).toEqual(event);
    const { changed_by_token_id: _, ...older } = toWireEvent(routeEvent());
    const decoded = routeEventSchema.safeParse(older);
    expect(decoded.success).toBe(true);
    expect(fromWireEvent(decoded.data!).changedByTokenId).toBeUndefined();
    expect(routeEventSchema.safeParse({ ...wire, changed_by_token_id: 'Not a token id' }).success).toBe(
      false,
    );
  });
});
