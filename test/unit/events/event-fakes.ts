import { randomUUID } from 'node:crypto';
import type { MSKEvent, MSKRecord } from 'aws-lambda';
import type { RouteChangedEvent, RouteKey } from '#shared/domain/route';
import { routeLabel } from '#shared/domain/route';
import { encodeRouteEvent } from '#shared/events/route-event.schema';
import type { AuditQuery, AuditRecord, AuditStore } from '#shared/ports/audit-store.port';
import type { EventPublisher } from '#shared/ports/event-publisher.port';
import type { FailedRecord, FailureDestination } from '#shared/ports/failure-destination.port';
import type { OutboxBacklog, OutboxClaim, OutboxStore } from '#shared/ports/outbox.port';
import { uniqueRouteKey } from '#test/support/fixtures';

let clock = Date.parse('2026-01-01T00:00:00.000Z');

/** A valid event; each call is one millisecond later than the previous one. */
export const routeEvent = (overrides: Partial<RouteChangedEvent> = {}, key: RouteKey = uniqueRouteKey()) => {
  clock += 1;
  return {
    eventId: randomUUID(),
    eventType: 'route_changed',
    action: 'created',
    ...key,
    url: 'https://a.example.com',
    previousUrl: null,
    previousState: null,
    revision: 1,
    changedBy: 'alice',
    occurredAt: new Date(clock).toISOString(),
    correlationId: `c-${randomUUID().slice(0, 8)}`,
    ...overrides,
  } satisfies RouteChangedEvent as RouteChangedEvent;
};

/** The MSK event-source record for an event, as the mapping delivers it (base64, byte headers). */
export const mskRecord = (
  event: RouteChangedEvent,
  at: { topic?: string; partition?: number; offset?: number } = {},
): MSKRecord => {
  const m = encodeRouteEvent(event);
  return {
    topic: at.topic ?? 'route-events',
    partition: at.partition ?? 0,
    offset: at.offset ?? 0,
    timestamp: Date.parse(event.occurredAt),
    timestampType: 'CREATE_TIME',
    key: Buffer.from(m.key).toString('base64'),
    value: Buffer.from(m.value).toString('base64'),
    headers: Object.entries(m.headers).map(([name, v]) => ({ [name]: [...Buffer.from(v)] })),
  };
};

export const mskEvent = (records: MSKRecord[]): MSKEvent => {
  const grouped: MSKEvent['records'] = {};
  for (const r of records) {
    const id = `${r.topic}-${r.partition}`;
    grouped[id] = [...(grouped[id] ?? []), r];
  }
  return {
    eventSource: 'aws:kafka',
    eventSourceArn: 'arn:test',
    bootstrapServers: 'test:9092',
    records: grouped,
  };
};

/** Records what it was asked to publish; can be told to fail or to hang. */
export class FakePublisher implements EventPublisher {
  readonly published: RouteChangedEvent[] = [];
  failWith: Error | null = null;
  hang = false;

  async publish(events: readonly RouteChangedEvent[]): Promise<void> {
    if (this.hang) return new Promise(() => {});
    if (this.failWith) throw this.failWith;
    this.published.push(...events);
  }

  async close(): Promise<void> {}
}

interface Row {
  readonly id: number;
  readonly event: RouteChangedEvent;
  published: boolean;
  claimed: boolean;
  /** Epoch ms until which the writer holds the right to publish this (head) row. */
  leasedUntil: number | null;
  attempts: number;
  lastError: string | null;
}

/**
 * The outbox with the Postgres store's rule: a route is claimed through its oldest unpublished row, and
 * not while that row is leased to its writer.
 */
export class InMemoryOutbox implements OutboxStore {
  readonly rows: Row[] = [];
  private nextId = 1;

  add(...events: RouteChangedEvent[]): void {
    for (const event of events) {
      this.rows.push({
        id: this.nextId++,
        event,
        published: false,
        claimed: false,
        leasedUntil: null,
        attempts: 0,
        lastError: null,
      });
    }
  }

  /** As a write with a publish lease does: the event is leased when it is its route's head. */
  addLeased(event: RouteChangedEvent, leaseMs: number): boolean {
    const isHead = !this.rows.some((r) => !r.published && routeLabel(r.event) === routeLabel(event));
    this.add(event);
    if (isHead) this.rows.at(-1)!.leasedUntil = Date.now() + leaseMs;
    return isHead;
  }

  private byEventId(eventIds: readonly string[]): Row[] {
    return this.rows.filter((r) => eventIds.includes(r.event.eventId) && !r.published);
  }

  async markLeasedPublished(eventIds: readonly string[]): Promise<void> {
    for (const r of this.byEventId(eventIds)) {
      r.published = true;
      r.leasedUntil = null;
      r.attempts++;
      r.lastError = null;
    }
  }

  async releaseLeases(eventIds: readonly string[], error: string): Promise<void> {
    for (const r of this.byEventId(eventIds)) {
      r.leasedUntil = null;
      r.attempts++;
      r.lastError = error;
    }
  }

  async claim(options: { limit: number }): Promise<OutboxClaim | null> {
    const pending = this.rows.filter((r) => !r.published);
    const heads = new Map<string, Row>();
    for (const row of pending) if (!heads.has(routeLabel(row.event))) heads.set(routeLabel(row.event), row);
    const leased = (r: Row) => r.leasedUntil !== null && r.leasedUntil > Date.now();
    const owned = new Set(
      [...heads.entries()].filter(([, head]) => !head.claimed && !leased(head)).map(([label]) => label),
    );
    if (owned.size === 0) return null;
    const taken = pending.filter((r) => owned.has(routeLabel(r.event))).slice(0, options.limit);
    for (const r of taken) r.claimed = true;
    const end = (published: boolean, error: string | null) => {
      for (const r of taken) {
        r.claimed = false;
        r.published = published;
        r.attempts++;
        r.lastError = error;
      }
    };
    return {
      events: taken.map((r) => r.event),
      markPublished: async () => end(true, null),
      release: async (error) => end(false, error),
    };
  }

  async backlog(): Promise<OutboxBacklog> {
    const pending = this.rows.filter((r) => !r.published);
    return { count: pending.length, oldestAgeSeconds: pending.length ? 1 : 0 };
  }
}

/** The audit store's contract in memory: unique event ids, newest-first (occurred_at, event_id) order. */
export class InMemoryAuditStore implements AuditStore {
  readonly records = new Map<string, AuditRecord>();
  failWith: Error | null = null;

  async append(records: readonly AuditRecord[]): Promise<{ inserted: number; duplicates: number }> {
    if (this.failWith) throw this.failWith;
    let inserted = 0;
    for (const r of records) {
      if (this.records.has(r.eventId)) continue;
      this.records.set(r.eventId, r);
      inserted++;
    }
    return { inserted, duplicates: records.length - inserted };
  }

  async find(q: AuditQuery): Promise<AuditRecord[]> {
    const f = q.filter;
    const t = (r: AuditRecord) => r.occurredAt.getTime();
    return [...this.records.values()]
      .filter((r) => {
        if (f.kind === 'route') return 'version' in r.route && routeLabel(r.route) === routeLabel(f.route);
        if (f.kind === 'action') return r.action === f.action;
        return (!f.from || t(r) >= f.from.getTime()) && (!f.to || t(r) < f.to.getTime());
      })
      .filter((r) => !q.tenants || q.tenants.includes(r.route.tenant))
      .filter(
        (r) =>
          !q.after ||
          t(r) < q.after.occurredAt.getTime() ||
          (t(r) === q.after.occurredAt.getTime() && r.eventId < q.after.eventId),
      )
      .sort((a, b) => t(b) - t(a) || (a.eventId < b.eventId ? 1 : -1))
      .slice(0, q.limit);
  }

  async ping(): Promise<void> {}
}

export class FakeFailureDestination implements FailureDestination {
  readonly name = 'fake';
  readonly sent: FailedRecord[] = [];
  failWith: Error | null = null;

  async send(records: readonly FailedRecord[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.sent.push(...records);
  }
}
