import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgOutboxStore } from '#shared/adapters/postgres/outbox-store.pg';
import { createPgPool, type PgPool } from '#shared/adapters/postgres/pg-pool';
import { PgRouteRepository, UPSERT_ROUTE, writeArgs } from '#shared/adapters/postgres/route-repository.pg';
import { getConfig } from '#shared/config/config';
import type { OutboxEvent } from '#shared/domain/outbox-event';
import type { RouteKey } from '#shared/domain/route';
import { publishAfterCommit, publishOutbox } from '#shared/use-cases/publish-outbox.use-case';
import { uniqueRouteKey } from '#test/support/fixtures';
import { createPrivateDatabase, type PrivateDatabase } from './private-database.ts';

let db: PrivateDatabase;
let pool: PgPool;
let repository: PgRouteRepository;
let outbox: PgOutboxStore;
const ctx = { changedBy: 'outbox-test', correlationId: null };

beforeAll(async () => {
  db = await createPrivateDatabase('outbox');
  pool = createPgPool({ ...getConfig().database, url: db.url, poolMax: 20 }, { onError: () => {} });
  repository = new PgRouteRepository(pool);
  outbox = new PgOutboxStore(pool);
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/** Writes `count` revisions of a route (created, then updates). */
const writeRevisions = async (key: RouteKey, count: number): Promise<void> => {
  for (let i = 1; i <= count; i++) await repository.upsertRoute(key, `https://r${i}.example.com`, ctx);
};

const drainAll = async () => {
  for (;;) {
    const claim = await outbox.claim({ limit: 1000 });
    if (!claim) return;
    await claim.markPublished();
  }
};

const revisions = (events: readonly OutboxEvent[], key: RouteKey) =>
  events.filter((e) => e.tenant === key.tenant).map((e) => e.revision);

describe('PgOutboxStore', () => {
  it("claims a route through its oldest unpublished row and takes the route's later rows in order", async () => {
    await drainAll();
    const [a, b] = [uniqueRouteKey(), uniqueRouteKey()];
    await writeRevisions(a, 3);
    await writeRevisions(b, 2);

    const claim = await outbox.claim({ limit: 100 });

    expect(revisions(claim!.events, a)).toEqual([1, 2, 3]);
    expect(revisions(claim!.events, b)).toEqual([1, 2]);
    await claim!.markPublished();
    expect(await outbox.claim({ limit: 100 })).toBeNull();
  });

  it('cuts a claim at the limit without ever skipping a revision of a route', async () => {
    await drainAll();
    const a = uniqueRouteKey();
    await writeRevisions(a, 5);

    const first = await outbox.claim({ limit: 2 });
    expect(revisions(first!.events, a)).toEqual([1, 2]);
    await first!.markPublished();
    const second = await outbox.claim({ limit: 10 });
    expect(revisions(second!.events, a)).toEqual([3, 4, 5]);
    await second!.markPublished();
  });

  it('lets a second claimer take only the routes the first does not hold', async () => {
    await drainAll();
    const [a, b] = [uniqueRouteKey(), uniqueRouteKey()];
    await writeRevisions(a, 2);
    const first = await outbox.claim({ limit: 100 });
    await writeRevisions(b, 1);
    await repository.upsertRoute(a, 'https://later.example.com', ctx);

    const second = await outbox.claim({ limit: 100 });

    expect(revisions(second!.events, a)).toEqual([]);
    expect(revisions(second!.events, b)).toEqual([1]);
    await second!.markPublished();
    await first!.markPublished();
    const third = await outbox.claim({ limit: 100 });
    expect(revisions(third!.events, a)).toEqual([3]);
    await third!.markPublished();
  });

  it("leases a write's event to the writer only when it is its route's head", async () => {
    await drainAll();
    const [a, b] = [uniqueRouteKey(), uniqueRouteKey()];
    const leased = { ...ctx, publishLeaseMs: 60_000 };

    const first = await repository.upsertRoute(a, 'https://r1.example.com', leased);
    const second = await repository.upsertRoute(a, 'https://r2.example.com', leased);
    const other = await repository.setRouteActive(a, false, ctx);
    const plain = await repository.upsertRoute(b, 'https://b.example.com', ctx);

    expect(first.publishLeased).toBe(true);
    expect(second.publishLeased).toBe(false); // revision 1 is still unpublished
    expect(other?.publishLeased).toBe(false);
    expect(plain.publishLeased).toBe(false); // no lease asked for
    const { rows } = await pool.query(
      'SELECT revision, lease_until > now() AS leased FROM route_events WHERE tenant = $1 ORDER BY id',
      [a.tenant],
    );
    expect(rows).toEqual([
      { revision: 1, leased: true },
      { revision: 2, leased: null },
      { revision: 3, leased: null },
    ]);
    await outbox.markLeasedPublished([first.event!.eventId]);
    await drainAll();
  });

  it('keeps relays off a leased route until the writer marks its event published or ends the lease', async () => {
    await drainAll();
    const [a, b] = [uniqueRouteKey(), uniqueRouteKey()];
    const leased = { ...ctx, publishLeaseMs: 60_000 };
    const ra = await repository.upsertRoute(a, 'https://a1.example.com', leased);
    await repository.upsertRoute(a, 'https://a2.example.com', leased);
    const rb = await repository.upsertRoute(b, 'https://b1.example.com', leased);

    expect(await outbox.claim({ limit: 100 })).toBeNull();

    await outbox.markLeasedPublished([ra.event!.eventId]);
    await outbox.releaseLeases([rb.event!.eventId], 'broker down');
    const claim = await outbox.claim({ limit: 100 });
    expect(revisions(claim!.events, a)).toEqual([2]);
    expect(revisions(claim!.events, b)).toEqual([1]);
    await claim!.markPublished();
    const { rows } = await pool.query(
      `SELECT tenant, revision, publish_attempts, last_error, published_at IS NOT NULL AS published
         FROM route_events WHERE tenant = ANY($1) ORDER BY id`,
      [[a.tenant, b.tenant]],
    );
    expect(rows).toEqual([
      { tenant: a.tenant, revision: 1, publish_attempts: 1, last_error: null, published: true },
      { tenant: a.tenant, revision: 2, publish_attempts: 1, last_error: null, published: true },
      { tenant: b.tenant, revision: 1, publish_attempts: 2, last_error: null, published: true },
    ]);
  });

  it('lets a relay take a route whose lease ran out (its writer died mid-publish)', async () => {
    await drainAll();
    const a = uniqueRouteKey();
    await repository.upsertRoute(a, 'https://a1.example.com', { ...ctx, publishLeaseMs: 50 });
    expect(await outbox.claim({ limit: 100 })).toBeNull();

    await new Promise((r) => setTimeout(r, 80));
    const claim = await outbox.claim({ limit: 100 });
    expect(revisions(claim!.events, a)).toEqual([1]);
    await claim!.markPublished();
  });

  it('marks a leased event once, however late the writer acknowledges it', async () => {
    await drainAll();
    const a = uniqueRouteKey();
    const r = await repository.upsertRoute(a, 'https://a1.example.com', { ...ctx, publishLeaseMs: 1 });
    await new Promise((res) => setTimeout(res, 10));
    const relay = await outbox.claim({ limit: 100 });
    await relay!.markPublished();

    await outbox.markLeasedPublished([r.event!.eventId]);

    const { rows } = await pool.query('SELECT publish_attempts FROM route_events WHERE tenant = $1', [
      a.tenant,
    ]);
    expect(rows).toEqual([{ publish_attempts: 1 }]);
  });

  it('commits a published mark without waiting for its WAL flush, and a write synchronously', async () => {
    const a = uniqueRouteKey();
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query({
        ...UPSERT_ROUTE,
        values: writeArgs(a, 'https://a1.example.com', { ...ctx, publishLeaseMs: 60_000 }),
      });
      const write = await client.query('SHOW synchronous_commit');
      const { rows } = await client.query<{ event_id: string }>(
        'SELECT event_id FROM route_events WHERE tenant = $1',
        [a.tenant],
      );
      await client.query('SELECT tm_mark_leased_published($1::uuid[])', [rows.map((r) => r.event_id)]);
      const mark = await client.query('SHOW synchronous_commit');
      await client.query('COMMIT');
      const after = await client.query('SHOW synchronous_commit');

      expect(write.rows[0].synchronous_commit).toBe('on');
      expect(mark.rows[0].synchronous_commit).toBe('off');
      expect(after.rows[0].synchronous_commit).toBe('on'); // transaction-local: the next one is durable again
    } finally {
      client.release();
    }
    const { rows } = await pool.query(
      'SELECT published_at IS NOT NULL AS published FROM route_events WHERE tenant = $1',
      [a.tenant],
    );
    expect(rows).toEqual([{ published: true }]);
  });

  it('leaves released rows unpublished, noting the attempt and error, and counts them in the backlog', async () => {
    await drainAll();
    const a = uniqueRouteKey();
    await writeRevisions(a, 2);

    const claim = await outbox.claim({ limit: 100 });
    await claim!.release('broker down');

    const { rows } = await pool.query(
      'SELECT revision, published_at, publish_attempts, last_error FROM route_events WHERE tenant = $1 ORDER BY id',
      [a.tenant],
    );
    expect(rows).toEqual([
      { revision: 1, published_at: null, publish_attempts: 1, last_error: 'broker down' },
      { revision: 2, published_at: null, publish_attempts: 1, last_error: 'broker down' },
    ]);
    const backlog = await outbox.backlog();
    expect(backlog.count).toBe(2);
    expect(backlog.oldestAgeSeconds).toBeGreaterThanOrEqual(0);
  });

  it("stamps a route's events in strictly increasing milliseconds, even for concurrent writes", async () => {
    const a = uniqueRouteKey();
    await repository.upsertRoute(a, 'https://r0.example.com', ctx);

    await Promise.all(
      Array.from({ length: 20 }, (_, i) => repository.upsertRoute(a, `https://c${i}.example.com`, ctx)),
    );

    const { rows } = await pool.query<{ revision: number; ms: number }>(
      `SELECT revision, (EXTRACT(EPOCH FROM date_trunc('milliseconds', occurred_at)) * 1000)::float8 AS ms
         FROM route_events WHERE tenant = $1 ORDER BY revision`,
      [a.tenant],
    );
    expect(rows.map((r) => r.revision)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.ms).toBeGreaterThan(rows[i - 1]!.ms);
  });

  it('keeps every route in revision order with writers, relays and after-commit publishers all racing', async () => {
    await drainAll();
    const routes = Array.from({ length: 12 }, () => uniqueRouteKey());
    const published: OutboxEvent[] = [];
    const publisher = {
      publish: async (events: readonly OutboxEvent[]) => {
        await new Promise((r) => setTimeout(r, Math.random() * 5));
        published.push(...events);
      },
      close: async () => {},
    };
    const deps = { outbox, publisher, publishTimeoutMs: 5000, guard: <T>(fn: () => Promise<T>) => fn() };
    let writing = true;
    const relay = async () => {
      while (writing) {
        const round = await publishOutbox(deps, { limit: 7 });
        if (round.claimed === 0) await new Promise((r) => setTimeout(r, 2));
      }
    };
    // Each route gets two writers, so leases are refused whenever the other's event is still unpublished.
    const writer = async (key: RouteKey, from: number) => {
      for (let i = from; i < from + 8; i++) {
        const result = await repository.upsertRoute(key, `https://r${i}.example.com`, {
          ...ctx,
          publishLeaseMs: 5000,
        });
        await publishAfterCommit(deps, result);
      }
    };

    const relays = [relay(), relay(), relay()];
    await Promise.all(routes.flatMap((key) => [writer(key, 0), writer(key, 100)]));
    writing = false;
    await Promise.all(relays);
    while ((await publishOutbox(deps, { limit: 100 })).claimed > 0);

    const allRevisions = Array.from({ length: 16 }, (_, i) => i + 1);
    for (const key of routes) expect(revisions(published, key)).toEqual(allRevisions);
  });
});
