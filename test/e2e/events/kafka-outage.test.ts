import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueRouteKey } from '#test/support/fixtures';
import { eventually } from '#test/support/kafka';
import { sharedMongoUrl } from '#test/support/mongo';
import { type KafkaHandle, startKafka } from '../../../scripts/services/services.ts';
import { type EventsRunner, startEventsRunner } from './runner.ts';

// A private broker on its own ports (below the ephemeral range): stopping it touches nothing shared.
const PORT = 29192;
const CONTROLLER_PORT = 29193;

let dataDir: string;
let kafka: KafkaHandle;
let runner: EventsRunner;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tm-kafka-outage-'));
  kafka = await startKafka({ port: PORT, controllerPort: CONTROLLER_PORT, dataDir });
  runner = await startEventsRunner('outage', {
    kafkaBrokers: kafka.url,
    mongoUrl: sharedMongoUrl(),
    extra: { PUBLISH_TIMEOUT_MS: '300' },
  });
}, 120_000);

afterAll(async () => {
  await runner?.stop();
  await kafka?.kill();
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

describe('a Kafka outage during a burst of writes', () => {
  it('never fails a write, and after the broker returns the relay delivers every event exactly once', async () => {
    const routes = Array.from({ length: 5 }, () => uniqueRouteKey());
    const statuses: number[] = [];
    const write = async (round: number) => {
      const results = await Promise.all(
        routes.map((key) =>
          runner.call('POST', '/api/v1/routes', { ...key, url: `https://r${round}.example.com` }),
        ),
      );
      statuses.push(...results.map((r) => r.status));
    };

    for (let round = 0; round < 4; round++) await write(round);
    await kafka.kill();
    const downStarted = Date.now();
    for (let round = 4; round < 12; round++) await write(round);
    const downMs = Date.now() - downStarted;
    kafka = await startKafka({ port: PORT, controllerPort: CONTROLLER_PORT, dataDir });
    for (let round = 12; round < 14; round++) await write(round);

    expect(statuses).toHaveLength(70);
    expect(statuses.every((s) => s === 200 || s === 201)).toBe(true);
    // 40 writes while the broker was down: the publish timeout bounds the first few, the breaker the rest.
    expect(downMs).toBeLessThan(15_000);

    const client = new pg.Client({ connectionString: runner.db.url });
    await client.connect();
    try {
      const expected = (
        await client.query<{ event_id: string }>('SELECT event_id FROM route_events ORDER BY id')
      ).rows.map((r) => r.event_id);
      expect(expected).toHaveLength(70);
      await eventually(
        async () => {
          const { rows } = await client.query(
            'SELECT count(*)::int AS n FROM route_events WHERE published_at IS NULL',
          );
          return rows[0].n === 0;
        },
        { timeoutMs: 60_000, intervalMs: 250, what: 'the relay to drain the outbox' },
      );
      const docs = await eventually(
        async () => {
          const all = await runner.auditDocs();
          return all.length >= 70 && all;
        },
        { timeoutMs: 60_000, intervalMs: 250, what: '70 audit documents' },
      );
      // Zero lost, zero duplicated, and each route's history complete and in order.
      expect(docs).toHaveLength(70);
      expect(new Set(docs.map((d) => d.event_id))).toEqual(new Set(expected));
      for (const key of routes) {
        const revisions = docs
          .filter((d) => d.route.tenant === key.tenant)
          .sort((a, b) => a.occurred_at.getTime() - b.occurred_at.getTime())
          .map((d) => d.revision);
        expect(revisions).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
      }
    } finally {
      await client.end();
    }
  }, 90_000);
});
