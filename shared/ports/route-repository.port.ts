import type { RouteKey, RouteRecord, RouteWriteResult, WriteContext } from '#shared/domain/route';

/** Postgres is the source of truth; each write is one transaction that also writes its outbox event. */
export interface RouteRepository {
  /** The route whether active or not; null when it does not exist. */
  findRoute(key: RouteKey): Promise<RouteRecord | null>;
  upsertRoute(key: RouteKey, url: string, ctx: WriteContext): Promise<RouteWriteResult>;
  /** Null when the route does not exist. */
  setRouteActive(key: RouteKey, active: boolean, ctx: WriteContext): Promise<RouteWriteResult | null>;
  ping(): Promise<void>;
}
