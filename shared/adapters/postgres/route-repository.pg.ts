import type {
  RouteAction,
  RouteChangedEvent,
  RouteKey,
  RouteRecord,
  RouteState,
  RouteWriteResult,
  WriteContext,
  WriteOutcome,
} from '#shared/domain/route';
import type { RouteRepository } from '#shared/ports/route-repository.port';
import { mapPgError } from './pg-errors.ts';
import type { PgPool } from './pg-pool.ts';

interface WriteRow {
  outcome: WriteOutcome;
  url: string;
  is_active: boolean;
  revision: number;
  event: OutboxRowJson | null;
}

/** An outbox row as `to_jsonb(route_events)` renders it. */
export interface OutboxRowJson {
  id: number;
  event_id: string;
  event_type: 'route_changed';
  action: RouteAction;
  tenant: string;
  service: string;
  env: string;
  version: string;
  url: string;
  previous_url: string | null;
  previous_state: RouteState | null;
  revision: number;
  changed_by: string;
  correlation_id: string | null;
  occurred_at: string;
  /** Set when the write leased the event to its writer (tm_publish_lease). */
  lease_until?: string | null;
}

export const eventFromOutboxRow = (row: OutboxRowJson): RouteChangedEvent => ({
  eventId: row.event_id,
  eventType: 'route_changed',
  action: row.action,
  tenant: row.tenant,
  service: row.service,
  env: row.env,
  version: row.version,
  url: row.url,
  previousUrl: row.previous_url,
  previousState: row.previous_state,
  revision: Number(row.revision),
  changedBy: row.changed_by,
  occurredAt: new Date(row.occurred_at).toISOString(),
  correlationId: row.correlation_id,
});

const toResult = (key: RouteKey, row: WriteRow): RouteWriteResult => ({
  outcome: row.outcome,
  route: { ...key, url: row.url, isActive: row.is_active, revision: row.revision },
  event: row.event ? eventFromOutboxRow(row.event) : null,
  publishLeased: !!row.event?.lease_until,
});

// Named statements are prepared once per connection: the resolve miss path and writes skip re-planning.
const FIND_ROUTE = {
  name: 'tm_find_route',
  text: `SELECT e.url, e.is_active, e.revision FROM endpoints e
           JOIN environments en ON en.id = e.environment_id
           JOIN services s ON s.id = en.service_id
           JOIN tenants t ON t.id = s.tenant_id
          WHERE t.name = $1 AND s.name = $2 AND en.name = $3 AND e.version = $4`,
};
// The write, its outbox row and its publish lease: one function, one transaction, one round trip.
const UPSERT_ROUTE = {
  name: 'tm_upsert_route',
  text: 'SELECT * FROM tm_upsert_route($1, $2, $3, $4, $5, $6, $7, $8)',
};
const SET_ACTIVE = {
  name: 'tm_set_route_active',
  text: 'SELECT * FROM tm_set_route_active($1, $2, $3, $4, $5, $6, $7, $8)',
};

export class PgRouteRepository implements RouteRepository {
  constructor(private readonly pool: PgPool) {}

  async findRoute(key: RouteKey): Promise<RouteRecord | null> {
    const { rows } = await this.pool
      .query<{ url: string; is_active: boolean; revision: number }>({
        ...FIND_ROUTE,
        values: [key.tenant, key.service, key.env, key.version],
      })
      .catch(mapPgError);
    const row = rows[0];
    return row ? { ...key, url: row.url, isActive: row.is_active, revision: row.revision } : null;
  }

  async upsertRoute(key: RouteKey, url: string, ctx: WriteContext): Promise<RouteWriteResult> {
    const { rows } = await this.pool
      .query<WriteRow>({
        ...UPSERT_ROUTE,
        values: [
          key.tenant,
          key.service,
          key.env,
          key.version,
          url,
          ctx.changedBy,
          ctx.correlationId,
          ctx.publishLeaseMs ?? 0,
        ],
      })
      .catch(mapPgError);
    return toResult(key, rows[0]!);
  }

  async setRouteActive(key: RouteKey, active: boolean, ctx: WriteContext): Promise<RouteWriteResult | null> {
    const { rows } = await this.pool
      .query<WriteRow>({
        ...SET_ACTIVE,
        values: [
          key.tenant,
          key.service,
          key.env,
          key.version,
          active,
          ctx.changedBy,
          ctx.correlationId,
          ctx.publishLeaseMs ?? 0,
        ],
      })
      .catch(mapPgError);
    return rows[0] ? toResult(key, rows[0]) : null;
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1').catch(mapPgError);
  }
}
