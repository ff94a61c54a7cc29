import type { RouteKey } from '#shared/domain/route';
import type { OutboxBacklog, OutboxClaim, OutboxStore } from '#shared/ports/outbox.port';
import { mapPgError } from './pg-errors.ts';
import type { PgPool } from './pg-pool.ts';
import { eventFromOutboxRow, type OutboxRowJson } from './route-repository.pg.ts';

/*
 * The ordering rule (one rule for the relay and the after-commit publisher alike):
 *
 *   A route is claimed only by locking its HEAD — its oldest unpublished row — with FOR UPDATE SKIP LOCKED.
 *   The claimer then takes the route's later unpublished rows in id order, publishes them in that order,
 *   marks them published and commits.
 *
 * Only a head can be claimed, and a route has one head until the claim commits, so one claimer at a time
 * owns a route; everyone else skips it (SKIP LOCKED) or, looking at a later row, sees the older one still
 * unpublished and leaves it. Writes to one route are serialized by the endpoint's row lock, so outbox ids
 * follow revisions. Hence a route's events go to Kafka as a prefix of its history, in revision order, and
 * rev 3 can never be published while rev 2 waits: neither by the write path (it claims through the same
 * head, so it publishes rev 2 first, or skips if the relay holds it) nor by another relay instance.
 */
const CLAIM_HEADS = `
  SELECT e.id FROM route_events e
   WHERE e.published_at IS NULL
     AND NOT EXISTS (
       SELECT 1 FROM route_events o
        WHERE o.published_at IS NULL AND o.id < e.id
          AND o.tenant = e.tenant AND o.service = e.service AND o.env = e.env AND o.version = e.version)
   ORDER BY e.id
   LIMIT $1
   FOR UPDATE SKIP LOCKED`;

// One route's head, or nothing when another claimer holds it (never the row after a locked head).
const CLAIM_ROUTE_HEAD = `
  SELECT e.id FROM route_events e
   WHERE e.id = (
           SELECT min(o.id) FROM route_events o
            WHERE o.published_at IS NULL
              AND o.tenant = $1 AND o.service = $2 AND o.env = $3 AND o.version = $4)
     AND e.published_at IS NULL
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

const NOTE_FAILURE = `
  UPDATE route_events SET publish_attempts = publish_attempts + 1, last_error = left($2, 500)
   WHERE id = ANY($1::bigint[])`;

const BACKLOG = `
  SELECT count(*)::int AS count,
         COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(occurred_at)), 0)::float8 AS oldest
    FROM route_events WHERE published_at IS NULL`;

export class PgOutboxStore implements OutboxStore {
  constructor(
    private readonly pool: PgPool,
    /** A claim never waits long on a lock: it is a background job, not worth stalling for. */
    private readonly lockTimeoutMs = 2000,
  ) {}

  async claim(options: { limit: number; route?: RouteKey }): Promise<OutboxClaim | null> {
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
      await client.query('BEGIN');
      await client.query(`SET LOCAL lock_timeout = ${Math.round(this.lockTimeoutMs)}`);
      const { route, limit } = options;
      const heads = route
        ? await client.query<{ id: number }>(CLAIM_ROUTE_HEAD, [
            route.tenant,
            route.service,
            route.env,
            route.version,
          ])
        : await client.query<{ id: number }>(CLAIM_HEADS, [limit]);
      if (heads.rows.length === 0) {
        await finish('COMMIT');
        return null;
      }
      const { rows } = await client.query<OutboxRowJson>(CLAIM_TAILS, [heads.rows.map((r) => r.id), limit]);
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
        events: rows.map(eventFromOutboxRow),
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
