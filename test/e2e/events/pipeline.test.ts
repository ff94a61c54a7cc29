import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRouteEvent } from '#shared/events/route-event.schema';
import { uniqueRouteKey } from '#test/support/fixtures';
import { eventually, sharedKafkaBrokers, testKafka } from '#test/support/kafka';
import { sharedMongoUrl } from '#test/support/mongo';
import { routeEvent } from '../../unit/events/event-fakes.ts';
import { type AuditPageJson, type EventsRunner, startEventsRunner } from './runner.ts';

let runner: EventsRunner;

beforeAll(async () => {
  runner = await startEventsRunner('pipeline', {
    kafkaBrokers: sharedKafkaBrokers(),
    mongoUrl: sharedMongoUrl(),
  });
}, 90_000);

afterAll(async () => {
  await runner?.stop();
});

const routeQuery = (key: object, extra: Record<string, string> = {}) =>
  `/api/v1/audit/route?${new URLSearchParams({ ...(key as Record<string, string>), ...extra })}`;

describe('events end to end through the local runner (real Kafka, consumers, audit store)', () => {
  it('takes a write through the outbox and Kafka to all three consumers', async () => {
    const key = uniqueRouteKey();
    expect(
      (await runner.call('POST', '/api/v1/routes', { ...key, url: 'https://v1.example.com' })).status,
    ).toBe(201);
    expect(
      (await runner.call('POST', '/api/v1/routes', { ...key, url: 'https://v2.example.com' })).status,
    ).toBe(200);
    expect((await runner.call('POST', '/api/v1/routes/deactivate', key)).status).toBe(200);

    const docs = await eventually(
      async () => {
        const { json } = await runner.call('GET', routeQuery(key));
        return json.count === 3 && json.events;
      },
      { what: 'three audit documents' },
    );
    expect(docs.map((d) => [d.action, d.revision])).toEqual([
      ['deactivated', 3],
      ['updated', 2],
      ['created', 1],
    ]);
    expect(docs[1]).toMatchObject({
      event_type: 'route_changed',
      route: key,
      url: 'https://v2.example.com',
      previous_url: 'https://v1.example.com',
      previous_state: 'active',
      changed_by: 'anonymous',
      correlation_id: expect.any(String),
    });
    // Invalidation and warming both wrote revision 3 (a tombstone or the inactive entry read back from
    // Postgres); an older revision can never be left behind.
    const entry = await eventually(async () => {
      const e = await runner.cached(key);
      return e?.revision === 3 && e;
    });
    expect(['inactive', 'tombstone']).toContain(entry.kind);
    expect(await runner.metric('consumer_batches_total', 'cache-warming')).toBeGreaterThan(0);
    expect(await runner.metric('consumer_batches_total', 'cache-invalidation')).toBeGreaterThan(0);
  });

  it('records concurrent writes to one route with strictly increasing revisions, newest first', async () => {
    const key = uniqueRouteKey();
    await runner.call('POST', '/api/v1/routes', { ...key, url: 'https://c0.example.com' });

    const writes = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        runner.call('POST', '/api/v1/routes', { ...key, url: `https://c${i + 1}.example.com` }),
      ),
    );

    expect(writes.every((w) => w.status === 200)).toBe(true);
    const events = await eventually(
      async () => {
        const { json } = await runner.call('GET', routeQuery(key, { limit: '1000' }));
        return json.count === 25 && json.events;
      },
      { what: '25 audit documents' },
    );
    expect(events.map((e) => e.revision)).toEqual(Array.from({ length: 25 }, (_, i) => 25 - i));
    const times = events.map((e) => Date.parse(e.occurred_at));
    for (let i = 1; i < times.length; i++) expect(times[i - 1]).toBeGreaterThan(times[i]!);
  });

  it('serves every audit query, paging with next_cursor without gaps or repeats', async () => {
    const key = uniqueRouteKey();
    await runner.call('POST', '/api/v1/routes', { ...key, url: 'https://p0.example.com' });
    for (let i = 1; i <= 6; i++)
      await runner.call('POST', '/api/v1/routes', { ...key, url: `https://p${i}.example.com` });
    await runner.call('POST', '/api/v1/routes/deactivate', key);
    await eventually(async () => (await runner.call('GET', routeQuery(key))).json.count === 8);

    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const params: Record<string, string> = { limit: '3' };
      if (cursor) params.cursor = cursor;
      const { json }: { json: AuditPageJson } = await runner.call('GET', routeQuery(key, params));
      seen.push(...json.events.map((e) => e.revision));
      cursor = json.next_cursor;
    } while (cursor);
    expect(seen).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);

    const recent = (await runner.call('GET', '/api/v1/audit/recent?days=1&limit=1000')).json;
    expect(recent.events.filter((e) => e.route.tenant === key.tenant)).toHaveLength(8);
    const deactivations = (await runner.call('GET', '/api/v1/audit/action?action=deactivated&limit=1000'))
      .json;
    expect(deactivations.events.some((e) => e.route.tenant === key.tenant && e.revision === 8)).toBe(true);
    const start = new Date(Date.now() - 60_000).toISOString();
    const end = new Date(Date.now() + 1000).toISOString();
    const range = (await runner.call('GET', `/api/v1/audit/time-range?start=${start}&end=${end}&limit=1000`))
      .json;
    expect(range.events.filter((e) => e.route.tenant === key.tenant)).toHaveLength(8);
  });

  it('answers bad audit parameters with a 400 naming the parameter, never as a query operator', async () => {
    const key = uniqueRouteKey();
    const injected = await runner.call(
      'GET',
      `/api/v1/audit/route?tenant[$ne]=x&service=${key.service}&env=${key.env}&version=${key.version}`,
    );
    expect(injected).toMatchObject({ status: 400, json: { error: 'validation_error', field: 'tenant' } });
    expect((await runner.call('GET', '/api/v1/audit/recent?limit=5000')).json).toMatchObject({
      field: 'limit',
    });
    expect(
      (await runner.call('GET', '/api/v1/audit/time-range?start=2026-01-01T00:00:00Z')).json,
    ).toMatchObject({
      field: 'end',
    });
  });

  it('sends a malformed record to the dead letters and keeps processing the partition', async () => {
    const producer = testKafka(sharedKafkaBrokers()).producer();
    await producer.connect();
    const key = uniqueRouteKey();
    const good = routeEvent({}, key);
    try {
      await producer.send({
        topic: runner.topic,
        messages: [
          { key: encodeRouteEvent(good).key, value: '{"event_type":"route_changed","oops":true}' },
          { ...encodeRouteEvent(good) },
        ],
      });
    } finally {
      await producer.disconnect();
    }

    await eventually(async () => (await runner.auditDocs({ event_id: good.eventId })).length === 1, {
      what: 'the good record after the poison one',
    });
    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: runner.db.url });
    await client.connect();
    try {
      const rows = await eventually(async () => {
        const { rows } = await client.query(
          'SELECT consumer, reason FROM event_dead_letters WHERE topic = $1 ORDER BY consumer',
          [runner.topic],
        );
        return rows.length === 3 && rows;
      });
      expect(new Set(rows.map((r) => r.consumer))).toEqual(
        new Set(['audit', 'cache-invalidation', 'cache-warming']),
      );
      expect(rows.every((r) => r.reason.startsWith('schema:'))).toBe(true);
    } finally {
      await client.end();
    }
    expect(await runner.metric('consumer_failed_records_total', 'audit')).toBe(1);
  });
});
