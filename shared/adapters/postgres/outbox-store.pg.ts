import type { OutboxEvent } from '#shared/domain/outbox-event';
import type { OutboxBacklog, OutboxClaim, OutboxStore } from '#shared/ports/outbox.port';
import { groupCommit } from '../group-commit.ts';
import { mapPgError } from './pg-errors.ts';
import type { PgPool } from './pg-pool.ts';
import { eventFromOutboxRow, type OutboxRowJson } from './route-repository.pg.ts';
import { type SplitOutboxRowJson, splitEventFromOutboxRow } from './split-outbox-row.pg.ts';

const eventOf = (row: OutboxRowJson | SplitOutboxRowJson): OutboxEvent =>
  row.event_type === 'split_changed' ? splitEventFromOutboxRow(row) : eventFromOutboxRow(row);

/*
 * The ordering rule (one rule for relays and the write path alike):
 *
 *   A route is owned by whoever holds its HEAD — its oldest unpublished row: a relay by locking it with
 *   FOR UPDATE SKIP LOCKED, a writer by a lease on it (lease_until in the future). A relay then takes the
 *   route's later unpublished rows in id order, publishes them in that order, marks them published and
 *   commits. A writer leases its new row only when that row is the head, inside the write's own
 *   insert (tm_publish_lease), publishes it after commit and marks it published or ends the lease.
 *
 * A route has one head until it is published, so one owner at a time publishes a route; relays skip
 * heads that are locked (SKIP LOCKED) or leased, and a later row is never a head while an older one is
 * unpublished. Writes to one route are serialized by the endpoint's row lock, so outbox ids follow
 * revisions. Hence a route's events go to Kafka as a prefix of its history, in revision order: rev 3 is
 * never published while rev 2 waits, by a writer (rev 3 was not the head, so it got no lease) or by a
 * relay. A lease that runs out (its writer died) makes the head claimable again.
 */
const CLAIM_HEADS = `
  SELECT e.id FROM route_events e
   WHERE e.published_at IS NULL
     AND (e.lease_until IS NULL OR e.lease_until <= clock_timestamp())
     AND NOT EXISTS (
       SELECT 1 FROM route_events o
        WHERE o.published_at IS NULL AND o.id < e.id
          AND o.tenant = e.tenant AND o.service = e.service AND o.env = e.env AND o.version = e.version)
   ORDER BY e.id
   LIMIT $1
   FOR UPDATE SKIP LOCKED`;

// The claimed routes' rows from their heads on, oldest first: per route always a prefix, even when the
// limit cuts the list. Nobody else can hold these rows (they are not heads while the head is unpublished).
const CLAIM_TAILS = `
  SELECT e.* FROM route_events e
    JOIN route_events h ON h.id = ANY($1::bigint[])
     AND e.tenant = h.tenant AND e.service = h.service AND e.env = h.env AND e.version = h.version
   WHERE e.published_at IS NULL AND e.id >= h.id
   ORDER BY e.id
   LIMIT $2
   FOR UPDATE OF e`;

const MARK_PUBLISHED = `
  UPDATE route_events SET published_at = now(), publish_attempts = publish_attempts + 1, last_error = NULL
   WHERE id = ANY($1::bigint[])`;

// The mark commits without waiting for its WAL flush (see the migration): losing it means a relay
// publishes the events again, which consumers absorb.
const MARK_LEASED_PUBLISHED = {
  name: 'tm_mark_leased_published_v2',
  text: 'SELECT tm_mark_leased_published($1::uuid[])',
};

const RELEASE_LEASES = `
  UPDATE route_events
     SET lease_until = NULL, publish_attempts = publish_attempts + 1, last_error = left($2, 500)
   WHERE event_id = ANY($1::uuid[]) AND published_at IS NULL`;

const NOTE_FAILURE = `
  UPDATE route_events SET publish_attempts = publish_attempts + 1, last_error = left($2, 500)
   WHERE id = ANY($1::bigint[])`;

const BACKLOG = `
  SELECT count(*)::int AS count,
         COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(occurred_at)), 0)::float8 AS oldest
    FROM route_events WHERE published_at IS NULL`;

/** Leased events marked published per UPDATE at most. */
const MAX_MARK_BATCH = 1000;

export class PgOutboxStore implements OutboxStore {
  constructor(
    private readonly pool: PgPool,
    /** A claim never waits long on a lock: it is a background job, not worth stalling for. */
    private readonly lockTimeoutMs = 2000,
  ) {}

  // Concurrent writers' acknowledgements share one UPDATE (group-commit.ts).
  private readonly markLeased = groupCommit<string>(async (eventIds) => {
    await this.pool.query({ ...MARK_LEASED_PUBLISHED, values: [eventIds] }).catch(mapPgError);
  }, MAX_MARK_BATCH);

  markLeasedPublished(eventIds: readonly string[]): Promise<void> {
    return this.markLeased(eventIds);
  }

  async releaseLeases(eventIds: readonly string[], error: string): Promise<void> {
    if (eventIds.length === 0) return;
    await this.pool.query(RELEASE_LEASES, [eventIds, error]).catch(mapPgError);
  }

  async claim(options: { limit: number }): Promise<OutboxClaim | null> {
    const client = await this.pool.connect().catch(mapPgError);
    // A checked-out client has no error listener (the pool only watches idle ones): without this, the
    // server dropping the connection mid-claim (restart, failover) would be an uncaught 'error' event.
    // The claim's pending or next query fails with the error instead, and the client is discarded.
    const onError = (): void => {};
    client.on('error', onError);
    let done = false;
    /** Ends the transaction and returns the connection exactly once (a broken one is discarded). */
    const finish = async (sql: 'COMMIT' | 'ROLLBACK'): Promise<void> => {
      if (done) return;
      done = true;
      try {
        await client.query(sql);
        client.removeListener('error', onError);
        client.release();
      } catch (err) {
        // A broken client is destroyed by the pool; keep listening until then.
        client.release(err as Error);
        throw err;
      }
    };
    const fail = async (err: unknown): Promise<never> => {
      await finish('ROLLBACK').catch(() => {});
      return mapPgError(err);
    };
    try {
      // One round trip (simple protocol, three statements). Asynchronous commit: the transaction only
      // marks rows published (or notes a failure); losing that in a crash means publishing them again.
      await client.query(
        `BEGIN; SET LOCAL lock_timeout = ${Math.round(this.lockTimeoutMs)}; SET LOCAL synchronous_commit = off`,
      );
      const { limit } = options;
      const heads = await client.query<{ id: number }>(CLAIM_HEADS, [limit]);
      if (heads.rows.length === 0) {
        await finish('COMMIT');
        return null;
      }
      const { rows } = await client.query<OutboxRowJson | SplitOutboxRowJson>(CLAIM_TAILS, [
        heads.rows.map((r) => r.id),
        limit,
      ]);
      const ids = rows.map((r) => r.id);
      const close = async (sql: string, values: unknown[]): Promise<void> => {
        try {
          await client.query(sql, values);
          await finish('COMMIT');
        } catch (err) {
          await fail(err);
        }
      };
      return {
        events: rows.map(eventOf),
        markPublished: () => close(MARK_PUBLISHED, [ids]),
        release: (error: string) => close(NOTE_FAILURE, [ids, error]),
      };
    } catch (err) {
      return fail(err);
    }
  }

  async backlog(): Promise<OutboxBacklog> {
    const { rows } = await this.pool.query<{ count: number; oldest: number }>(BACKLOG).catch(mapPgError);
    return { count: rows[0]?.count ?? 0, oldestAgeSeconds: rows[0]?.oldest ?? 0 };
  }
}
