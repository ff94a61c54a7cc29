import { NothingToRollBackError, PreconditionFailedError } from '#shared/domain/errors';
import {
  type RouteAction,
  type RouteChangedEvent,
  type RouteDetail,
  type RouteKey,
  type RouteListQuery,
  type RouteRecord,
  type RouteState,
  type RouteWriteResult,
  routeLabel,
  type WriteContext,
  type WriteOutcome,
} from '#shared/domain/route';
import type { RouteRepository } from '#shared/ports/route-repository.port';
import { mapPgError } from './pg-errors.ts';
import type { PgPool } from './pg-pool.ts';

export interface WriteRow {
  outcome: WriteOutcome | 'precondition_failed' | 'nothing_to_roll_back';
  url: string;
  is_active: boolean;
  /** Null only with precondition_failed for a route that does not exist. */
  revision: number | null;
  event: OutboxRowJson | null;
  /** Upserts and rollbacks only: tm_split_cache_revision_of(event) (bigint, a string), NULL for no split. */
  split_cache_revision?: string | null;
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
  /** Set on rolled_back only (absent from rows written before migration 1763790000000). */
  restored_revision?: number | null;
  changed_by: string;
  /** The acting token (absent from rows written before migration 1763810000000; null with auth off). */
  changed_by_token_id?: string | null;
  correlation_id: string | null;
  occurred_at: string;
  /** The batch the change was part of (absent from rows written before migration 1763840000000). */
  batch_id?: string | null;
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
  ...(row.restored_revision != null ? { restoredRevision: Number(row.restored_revision) } : {}),
  changedBy: row.changed_by,
  ...(row.changed_by_token_id != null ? { changedByTokenId: row.changed_by_token_id } : {}),
  occurredAt: new Date(row.occurred_at).toISOString(),
  correlationId: row.correlation_id,
  ...(row.batch_id != null ? { batchId: row.batch_id } : {}),
});

export const toResult = (key: RouteKey, row: WriteRow): RouteWriteResult => {
  if (row.outcome === 'precondition_failed') {
    throw new PreconditionFailedError(
      row.revision === null
        ? `route ${routeLabel(key)} does not exist`
        : `route ${routeLabel(key)} is at revision ${row.revision}`,
      row.revision,
    );
  }
  if (row.outcome === 'nothing_to_roll_back') {
    throw new NothingToRollBackError(
      `route ${routeLabel(key)} has no such earlier revision to roll back to`,
      row.revision!,
    );
  }
  return {
    outcome: row.outcome,
    route: { ...key, url: row.url, isActive: row.is_active, revision: row.revision! },
    event: row.event ? eventFromOutboxRow(row.event) : null,
    publishLeased: !!row.event?.lease_until,
    ...(row.split_cache_revision != null ? { splitCacheRevision: Number(row.split_cache_revision) } : {}),
  };
};

/** The precondition as the write functions take it: (p_condition, p_if_match). */
export const conditionOf = (ctx: WriteContext): [string | null, number[] | null] => {
  const p = ctx.precondition;
  if (!p) return [null, null];
  return p.kind === 'revision' ? ['revision', [...p.revisions]] : [p.kind, null];
};

/**
 * The arguments every write function takes, in order: the route, what this write sets (URL, active flag or
 * target revision), the author and correlation, the publish lease, the precondition, the acting token.
 */
export const writeArgs = (key: RouteKey, what: unknown, ctx: WriteContext): unknown[] => [
  key.tenant,
  key.service,
  key.env,
  key.version,
  what,
  ctx.changedBy,
  ctx.correlationId,
  ctx.publishLeaseMs ?? 0,
  ...conditionOf(ctx),
  ctx.changedByTokenId ?? null,
];

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
// Writes that can move a URL also answer the cache revision they gave a split naming the route
// (migrations/1763860000000_route-write-split-cache-revision.sql); activation cannot (a split names
// only active routes, and deactivating one it names is refused).
const SPLIT_CACHE_REVISION = 'tm_split_cache_revision_of(w.event) AS split_cache_revision';
export const UPSERT_ROUTE = {
  name: 'tm_upsert_route_v5',
  text: `SELECT w.*, ${SPLIT_CACHE_REVISION} FROM tm_upsert_route($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) w`,
};
export const SET_ACTIVE = {
  name: 'tm_set_route_active_v4',
  text: 'SELECT * FROM tm_set_route_active($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
};
const ROLLBACK = {
  name: 'tm_rollback_route_v3',
  text: `SELECT w.*, ${SPLIT_CACHE_REVISION} FROM tm_rollback_route($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) w`,
};
const FIND_DETAIL = {
  name: 'tm_find_route_detail',
  text: `SELECT e.url, e.is_active, e.revision, e.created_at, e.updated_at, e.created_by, e.updated_by
           FROM endpoints e
           JOIN environments en ON en.id = e.environment_id
           JOIN services s ON s.id = en.service_id
           JOIN tenants t ON t.id = s.tenant_id
          WHERE t.name = $1 AND s.name = $2 AND en.name = $3 AND e.version = $4`,
};
// Byte order (COLLATE "C"): the same on every database whatever its locale, and what the cursor compares.
const LIST_ROUTES = {
  name: 'tm_list_routes',
  text: `SELECT s.name AS service, en.name AS env, e.version, e.url, e.is_active, e.revision
           FROM tenants t
           JOIN services s ON s.tenant_id = t.id
           JOIN environments en ON en.service_id = s.id
           JOIN endpoints e ON e.environment_id = en.id
          WHERE t.name = $1
            AND ($2::text IS NULL OR s.name = $2)
            AND ($3::text IS NULL OR en.name = $3)
            AND ($4::boolean IS NULL OR e.is_active = $4)
            AND ($5::text IS NULL
                 OR (s.name COLLATE "C", en.name COLLATE "C", e.version COLLATE "C") > ($5, $6, $7))
          ORDER BY s.name COLLATE "C", en.name COLLATE "C", e.version COLLATE "C"
          LIMIT $8`,
};

interface DetailRow {
  url: string;
  is_active: boolean;
  revision: number;
  created_at: Date;
  updated_at: Date;
  created_by: string;
  updated_by: string;
}

interface ListRow {
  service: string;
  env: string;
  version: string;
  url: string;
  is_active: boolean;
  revision: number;
}

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
        values: writeArgs(key, url, ctx),
      })
      .catch(mapPgError);
    return toResult(key, rows[0]!);
  }

  async setRouteActive(key: RouteKey, active: boolean, ctx: WriteContext): Promise<RouteWriteResult | null> {
    const { rows } = await this.pool
      .query<WriteRow>({
        ...SET_ACTIVE,
        values: writeArgs(key, active, ctx),
      })
      .catch(mapPgError);
    return rows[0] ? toResult(key, rows[0]) : null;
  }

  async rollbackRoute(
    key: RouteKey,
    toRevision: number | null,
    ctx: WriteContext,
  ): Promise<RouteWriteResult | null> {
    const { rows } = await this.pool
      .query<WriteRow>({
        ...ROLLBACK,
        values: writeArgs(key, toRevision, ctx),
      })
      .catch(mapPgError);
    return rows[0] ? toResult(key, rows[0]) : null;
  }

  async findRouteDetail(key: RouteKey): Promise<RouteDetail | null> {
    const { rows } = await this.pool
      .query<DetailRow>({ ...FIND_DETAIL, values: [key.tenant, key.service, key.env, key.version] })
      .catch(mapPgError);
    const row = rows[0];
    if (!row) return null;
    return {
      ...key,
      url: row.url,
      isActive: row.is_active,
      revision: row.revision,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      createdBy: row.created_by,
      updatedBy: row.updated_by,
    };
  }

  async listRoutes(q: RouteListQuery): Promise<RouteRecord[]> {
    const { rows } = await this.pool
      .query<ListRow>({
        ...LIST_ROUTES,
        values: [
          q.tenant,
          q.service ?? null,
          q.env ?? null,
          q.active ?? null,
          q.after?.service ?? null,
          q.after?.env ?? null,
          q.after?.version ?? null,
          q.limit,
        ],
      })
      .catch(mapPgError);
    return rows.map((r) => ({
      tenant: q.tenant,
      service: r.service,
      env: r.env,
      version: r.version,
      url: r.url,
      isActive: r.is_active,
      revision: r.revision,
    }));
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1').catch(mapPgError);
  }
}
