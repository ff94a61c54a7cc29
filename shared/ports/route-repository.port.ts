import type {
  RouteDetail,
  RouteKey,
  RouteListQuery,
  RouteRecord,
  RouteWriteResult,
  WriteContext,
} from '#shared/domain/route';

/**
 * Postgres is the source of truth; each write is one transaction that also writes its outbox event.
 * A write whose `ctx.precondition` does not hold throws PreconditionFailedError and changes nothing.
 */
export interface RouteRepository {
  /** The route whether active or not; null when it does not exist. */
  findRoute(key: RouteKey): Promise<RouteRecord | null>;
  /** The route with its authors and times; null when it does not exist. */
  findRouteDetail(key: RouteKey): Promise<RouteDetail | null>;
  /** Up to `limit` routes of a tenant after `after`, ordered by service, env, version (byte order). */
  listRoutes(query: RouteListQuery): Promise<RouteRecord[]>;
  upsertRoute(key: RouteKey, url: string, ctx: WriteContext): Promise<RouteWriteResult>;
  /** Null when the route does not exist. */
  setRouteActive(key: RouteKey, active: boolean, ctx: WriteContext): Promise<RouteWriteResult | null>;
  /**
   * Restores the URL and state of `toRevision` (null: the revision before the latest) as a new revision.
   * Null when the route does not exist; NothingToRollBackError when there is no such earlier revision.
   */
  rollbackRoute(
    key: RouteKey,
    toRevision: number | null,
    ctx: WriteContext,
  ): Promise<RouteWriteResult | null>;
  ping(): Promise<void>;
}
