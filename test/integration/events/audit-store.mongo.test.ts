import type { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_COLLECTION, MongoAuditStore } from '#shared/adapters/mongo/audit-store.mongo';
import { createMongoClient } from '#shared/adapters/mongo/mongo-client.mongo';
import { getConfig } from '#shared/config/config';
import { DependencyUnavailableError } from '#shared/domain/errors';
import type { AuditCursor, AuditFilter } from '#shared/ports/audit-store.port';
import { toAuditRecord } from '#shared/use-cases/record-audit.use-case';
import { uniqueRouteKey } from '#test/support/fixtures';
import { sharedMongoUrl, uniqueMongoDatabase } from '#test/support/mongo';
import { routeEvent } from '../../unit/events/event-fakes.ts';

const database = uniqueMongoDatabase('audit');
let client: MongoClient;
let store: MongoAuditStore;
const processedAt = new Date('2026-03-01T00:00:00Z');
const recordOf = (...args: Parameters<typeof routeEvent>) =>
  toAuditRecord({ event: routeEvent(...args) }, processedAt);

beforeAll(async () => {
  client = await createMongoClient({ ...getConfig().mongo, url: sharedMongoUrl() });
  store = new MongoAuditStore(client.db(database));
});

afterAll(async () => {
  await client.db(database).dropDatabase();
  await client.close();
});

const allPages = async (filter: AuditFilter, limit: number) => {
  const ids: string[] = [];
  let after: AuditCursor | undefined;
  for (;;) {
    const page = await store.find({ filter, limit, ...(after ? { after } : {}) });
    ids.push(...page.map((r) => r.eventId));
    if (page.length < limit) return ids;
    const last = page.at(-1)!;
    after = { occurredAt: last.occurredAt, eventId: last.eventId };
  }
};

describe('MongoAuditStore on a Mongo-wire server', () => {
  it("creates the seed's indexes, event_id unique", async () => {
    await store.ensureIndexes();

    const indexes = await client.db(database).collection(AUDIT_COLLECTION).listIndexes().toArray();

    expect(indexes.map((i) => i.name).sort()).toEqual(
      [
        '_id_',
        'action_occurred_at',
        'event_id_unique',
        'occurred_at',
        'route_occurred_at',
        'tenant_occurred_at',
      ].sort(),
    );
    expect(indexes.find((i) => i.name === 'event_id_unique')?.unique).toBe(true);
  });

  it('stores each event once: a redelivered batch only counts duplicates', async () => {
    const batch = [recordOf(), recordOf(), recordOf()];

    expect(await store.append(batch)).toEqual({ inserted: 3, duplicates: 0 });
    expect(await store.append([batch[1]!, recordOf(), batch[2]!])).toEqual({ inserted: 1, duplicates: 2 });
    expect(await store.append([batch[0]!])).toEqual({ inserted: 0, duplicates: 1 });

    const stored = await client
      .db(database)
      .collection(AUDIT_COLLECTION)
      .countDocuments({ event_id: { $in: batch.map((r) => r.eventId) } });
    expect(stored).toBe(3);
  });

  it('finds a route history newest first, in full, across pages and equal timestamps', async () => {
    const key = uniqueRouteKey();
    const at = '2026-02-10T10:00:00.000Z';
    const records = [
      ...Array.from({ length: 5 }, (_, i) => recordOf({ revision: i + 1, occurredAt: at }, key)),
      recordOf({ revision: 6, occurredAt: '2026-02-10T10:00:01.000Z' }, key),
      recordOf(),
    ];
    await store.append(records);

    const ids = await allPages({ kind: 'route', route: key }, 2);

    const expected = records
      .slice(0, 6)
      .sort((a, b) => b.occurredAt.getTime() - a.occurredAt.getTime() || (a.eventId < b.eventId ? 1 : -1))
      .map((r) => r.eventId);
    expect(ids).toEqual(expected);
    const [first] = await store.find({ filter: { kind: 'route', route: key }, limit: 1 });
    expect(first).toEqual(records[5]);
  });

  it('filters by action and by a half-open time range', async () => {
    const key = uniqueRouteKey();
    const inRange = recordOf({ action: 'deactivated', occurredAt: '2030-05-01T00:00:00.000Z' }, key);
    const atEnd = recordOf({ action: 'deactivated', occurredAt: '2030-05-02T00:00:00.000Z' }, key);
    await store.append([inRange, atEnd]);

    const range = await store.find({
      filter: { kind: 'time', from: new Date('2030-05-01T00:00:00Z'), to: new Date('2030-05-02T00:00:00Z') },
      limit: 10,
    });
    const deactivations = await store.find({
      filter: { kind: 'action', action: 'deactivated' },
      limit: 1000,
    });

    expect(range.map((r) => r.eventId)).toEqual([inRange.eventId]);
    expect(deactivations.map((r) => r.eventId)).toEqual(
      expect.arrayContaining([inRange.eventId, atEnd.eventId]),
    );
    expect(deactivations.every((r) => r.action === 'deactivated')).toBe(true);
  });

  it("limits any query to a token's tenants with $in, and a tenant name cannot act as an operator", async () => {
    const a = uniqueRouteKey();
    const b = uniqueRouteKey();
    const at = '2031-01-01T00:00:00.000Z';
    const mine = recordOf({ action: 'activated', occurredAt: at }, a);
    const theirs = recordOf({ action: 'activated', occurredAt: at }, b);
    await store.append([mine, theirs]);
    const window = { kind: 'time', from: new Date(at), to: new Date('2031-01-02T00:00:00Z') } as const;

    const scoped = await store.find({ filter: window, limit: 10, tenants: [a.tenant] });
    const both = await store.find({ filter: window, limit: 10, tenants: [a.tenant, b.tenant] });
    const byAction = await store.find({
      filter: { kind: 'action', action: 'activated' },
      limit: 1000,
      tenants: [a.tenant],
    });
    const operator = await store.find({ filter: window, limit: 10, tenants: ['{"$ne":null}', '$ne'] });

    expect(scoped.map((r) => r.eventId)).toEqual([mine.eventId]);
    expect(both).toHaveLength(2);
    expect(byAction.map((r) => r.route.tenant)).toEqual([a.tenant]);
    expect(operator).toEqual([]);
  });

  it('reports an unreachable server as audit store unavailable', async () => {
    const dead = await createMongoClient(
      { ...getConfig().mongo, url: 'mongodb://127.0.0.1:1' },
      { serverSelectionTimeoutMS: 300 },
    );
    const unreachable = new MongoAuditStore(dead.db('x'));
    try {
      await expect(unreachable.append([recordOf()])).rejects.toBeInstanceOf(DependencyUnavailableError);
    } finally {
      await dead.close();
    }
  });
});
