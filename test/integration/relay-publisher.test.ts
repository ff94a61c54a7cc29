import './relay-publisher.env.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { handler as batch } from '#functions/routes/batch-routes.handler';
import { handler as resolve } from '#functions/routes/resolve-route.handler';
import { handler as upsert } from '#functions/routes/upsert-route.handler';
import { getPgPool } from '#shared/composition/clients';
import { getRelayDeps } from '#shared/composition/publish-clients';
import { closeAllClients } from '#shared/composition/shutdown';
import { getWritePublishing } from '#shared/composition/write-publishing';
import { publishOutbox } from '#shared/use-cases/publish-outbox.use-case';
import { invoke } from '#test/support/api-gateway';
import { uniqueRouteKey } from '#test/support/fixtures';
import { deleteTestTopic, sharedKafkaBrokers } from '#test/support/kafka';
import { database, topic } from './relay-publisher.env.ts';

// EVENT_PUBLISHER=relay, as the stacks deploy the write functions (issue 15): a write answers after commit
// and its tombstone, and its event is the relay's to publish.
afterAll(async () => {
  await closeAllClients();
  await Promise.all([database.drop(), deleteTestTopic(sharedKafkaBrokers(), topic)]);
});

const eventsOf = async (tenant: string) =>
  (
    await getPgPool().query<{
      version: string;
      revision: number;
      lease_until: Date | null;
      published_at: Date | null;
    }>(
      'SELECT version, revision, lease_until, published_at FROM route_events WHERE tenant = $1 ORDER BY id',
      [tenant],
    )
  ).rows;

describe('writes with EVENT_PUBLISHER=relay against Postgres, Redis and Kafka', () => {
  it('builds no after-commit publisher and no lease', () => {
    expect(getWritePublishing()).toEqual({});
  });

  it('answers a write with its event committed, unleased and unpublished, and reads it back at once', async () => {
    const key = uniqueRouteKey();
    const created = await invoke(upsert, {
      method: 'POST',
      path: '/api/v1/routes',
      body: { ...key, url: 'https://a.example.com' },
    });
    expect(created.status).toBe(201);
    const updated = await invoke(upsert, {
      method: 'POST',
      path: '/api/v1/routes',
      body: { ...key, url: 'https://b.example.com' },
    });
    expect(updated.status).toBe(200);

    // Read-your-write comes from the writer's tombstone, not from Kafka.
    const read = await invoke(resolve, { path: '/api/v1/routes/resolve', query: { ...key } });
    expect(read.body).toMatchObject({ url: 'https://b.example.com' });
    expect(await eventsOf(key.tenant)).toEqual([
      { version: key.version, revision: 1, lease_until: null, published_at: null },
      { version: key.version, revision: 2, lease_until: null, published_at: null },
    ]);
  });

  it("leaves a bulk change's events to the relay too, which publishes them", async () => {
    const key = uniqueRouteKey();
    const res = await invoke(batch, {
      method: 'POST',
      path: '/api/v1/routes/batch',
      body: {
        operations: [
          { op: 'create', ...key, version: 'v1', url: 'https://a.example.com' },
          { op: 'create', ...key, version: 'v2', url: 'https://b.example.com' },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect((await eventsOf(key.tenant)).map((e) => e.published_at)).toEqual([null, null]);

    // The relay's round: claims the route's events oldest first and publishes them with acks=all.
    for (let round = 0; round < 20 && (await eventsOf(key.tenant)).some((e) => !e.published_at); round++) {
      await publishOutbox(getRelayDeps(), { limit: 500 });
    }
    const events = await eventsOf(key.tenant);
    expect(events.map((e) => e.version)).toEqual(['v1', 'v2']);
    expect(events.every((e) => e.published_at !== null)).toBe(true);
  });
});
