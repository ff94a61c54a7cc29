import { randomUUID } from 'node:crypto';
import type { RouteKey, RouteRecord, RouteWriteResult, WriteContext } from '#shared/domain/route';
import { routeLabel } from '#shared/domain/route';
import type { RouteRepository } from '#shared/ports/route-repository.port';

/** In-memory RouteRepository with the same semantics as the Postgres one (for use-case unit tests). */
export class InMemoryRouteRepository implements RouteRepository {
  readonly routes = new Map<string, RouteRecord>();
  findCalls = 0;
  /** Set to make every call fail (e.g. a DependencyUnavailableError). */
  failWith: Error | null = null;

  private check(): void {
    if (this.failWith) throw this.failWith;
  }

  async findRoute(key: RouteKey): Promise<RouteRecord | null> {
    this.findCalls++;
    this.check();
    return this.routes.get(routeLabel(key)) ?? null;
  }

  private result(
    outcome: RouteWriteResult['outcome'],
    route: RouteRecord,
    prev: RouteRecord | null,
    ctx: WriteContext,
  ): RouteWriteResult {
    if (outcome === 'unchanged') return { outcome, route, event: null };
    return {
      outcome,
      route,
      event: {
        eventId: randomUUID(),
        eventType: 'route_changed',
        action: outcome,
        tenant: route.tenant,
        service: route.service,
        env: route.env,
        version: route.version,
        url: route.url,
        previousUrl: prev?.url ?? null,
        previousState: prev ? (prev.isActive ? 'active' : 'inactive') : null,
        revision: route.revision,
        changedBy: ctx.changedBy,
        occurredAt: new Date().toISOString(),
        correlationId: ctx.correlationId,
      },
    };
  }

  async upsertRoute(key: RouteKey, url: string, ctx: WriteContext): Promise<RouteWriteResult> {
    this.check();
    const prev = this.routes.get(routeLabel(key)) ?? null;
    if (prev && prev.url === url) return this.result('unchanged', prev, prev, ctx);
    const route: RouteRecord = {
      ...key,
      url,
      isActive: prev?.isActive ?? true,
      revision: (prev?.revision ?? 0) + 1,
    };
    this.routes.set(routeLabel(key), route);
    return this.result(prev ? 'updated' : 'created', route, prev, ctx);
  }

  async setRouteActive(key: RouteKey, active: boolean, ctx: WriteContext): Promise<RouteWriteResult | null> {
    this.check();
    const prev = this.routes.get(routeLabel(key));
    if (!prev) return null;
    if (prev.isActive === active) return this.result('unchanged', prev, prev, ctx);
    const route = { ...prev, isActive: active, revision: prev.revision + 1 };
    this.routes.set(routeLabel(key), route);
    return this.result(active ? 'activated' : 'deactivated', route, prev, ctx);
  }

  async ping(): Promise<void> {
    this.check();
  }
}
