import { describe, expect, it } from 'vitest';
import {
  auditEventBody,
  DEFAULT_LIMIT,
  decodeCursor,
  encodeCursor,
  parseAuditQuery,
} from '#functions/audit/audit-query.schema';
import { ValidationError } from '#shared/domain/errors';
import { queryAudit } from '#shared/use-cases/query-audit.use-case';
import { toAuditRecord } from '#shared/use-cases/record-audit.use-case';
import { uniqueRouteKey } from '#test/support/fixtures';
import { InMemoryAuditStore, routeEvent } from './event-fakes.ts';

const now = new Date('2026-03-01T00:00:00Z');

const issueOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.issues[0];
    throw err;
  }
  throw new Error('no validation error');
};

describe('queryAudit', () => {
  it('pages newest first without gaps or repeats, even across equal timestamps', async () => {
    const store = new InMemoryAuditStore();
    const key = uniqueRouteKey();
    const at = '2026-02-01T00:00:00.000Z';
    const events = Array.from({ length: 7 }, (_, i) => routeEvent({ revision: i + 1, occurredAt: at }, key));
    await store.append(events.map((event) => toAuditRecord({ event }, now)));

    const seen: string[] = [];
    let after: Parameters<typeof queryAudit>[1]['after'];
    let pages = 0;
    do {
      const page = await queryAudit(
        { store },
        { filter: { kind: 'route', route: key }, limit: 3, ...(after ? { after } : {}) },
      );
      seen.push(...page.records.map((r) => r.eventId));
      after = page.next ?? undefined;
      pages++;
    } while (after);

    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(7);
    expect(seen).toEqual([...events.map((e) => e.eventId)].sort().reverse());
  });

  it('has no next page when the last page is exactly full', async () => {
    const store = new InMemoryAuditStore();
    await store.append([routeEvent(), routeEvent()].map((event) => toAuditRecord({ event }, now)));

    const page = await queryAudit({ store }, { filter: { kind: 'time' }, limit: 2 });

    expect(page.records).toHaveLength(2);
    expect(page.next).toBeNull();
  });
});

describe('audit query parameters', () => {
  it('reads a route query with the default limit', () => {
    const key = uniqueRouteKey();
    expect(parseAuditQuery('/api/v1/audit/route', { ...key }, now)).toEqual({
      filter: { kind: 'route', route: key },
      limit: DEFAULT_LIMIT,
    });
  });

  it('turns days into a lower time bound', () => {
    expect(parseAuditQuery('/api/v1/audit/recent', { days: '30', limit: '5' }, now)).toEqual({
      filter: { kind: 'time', from: new Date('2026-01-30T00:00:00Z') },
      limit: 5,
    });
  });

  it('reads a time range in any ISO-8601 offset as instants', () => {
    const q = parseAuditQuery(
      '/api/v1/audit/time-range',
      { start: '2026-01-01T01:00:00+01:00', end: '2026-01-02T00:00:00Z' },
      now,
    );
    expect(q.filter).toEqual({
      kind: 'time',
      from: new Date('2026-01-01T00:00:00Z'),
      to: new Date('2026-01-02T00:00:00Z'),
    });
  });

  it.each([
    ['/api/v1/audit/route', { tenant: 'a', service: 'b', env: 'c' }, 'version', 'required'],
    ['/api/v1/audit/route', { tenant: '$ne', service: 'b', env: 'c', version: 'd' }, 'tenant', 'format'],
    ['/api/v1/audit/recent', { limit: '0' }, 'limit', 'too_small'],
    ['/api/v1/audit/recent', { limit: '1001' }, 'limit', 'max_length'],
    ['/api/v1/audit/recent', { limit: '1e3' }, 'limit', 'format'],
    ['/api/v1/audit/recent', { days: '-1' }, 'days', 'format'],
    ['/api/v1/audit/action', { action: 'deleted' }, 'action', 'invalid_value'],
    ['/api/v1/audit/action', {}, 'action', 'required'],
    ['/api/v1/audit/time-range', { start: 'yesterday', end: '2026-01-02T00:00:00Z' }, 'start', 'format'],
    ['/api/v1/audit/time-range', { start: '2026-01-02T00:00:00Z' }, 'end', 'required'],
    [
      '/api/v1/audit/time-range',
      { start: '2026-01-02T00:00:00Z', end: '2026-01-01T00:00:00Z' },
      'end',
      'range',
    ],
    ['/api/v1/audit/recent', { cursor: 'bm9wZQ' }, 'cursor', 'format'],
  ] as const)('rejects %s %j naming %s', (path, params, field, rule) => {
    expect(issueOf(() => parseAuditQuery(path, params, now))).toMatchObject({ field, rule });
  });

  it('round-trips the opaque cursor', () => {
    const cursor = { occurredAt: new Date('2026-01-01T00:00:00.123Z'), eventId: routeEvent().eventId };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
  });

  it('renders documents with ISO-8601 UTC times', () => {
    const event = routeEvent();
    const body = auditEventBody(toAuditRecord({ event }, now));
    expect(body).toMatchObject({ occurred_at: event.occurredAt, processed_at: '2026-03-01T00:00:00.000Z' });
  });
});
