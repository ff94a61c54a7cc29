import { randomUUID } from 'node:crypto';
import type { RouteKey, RouteRecord, RouteWriteResult, WriteContext } from '#shared/domain/route';
import { routeLabel } from '#shared/domain/route';
import type { RouteRepository } from '#shared/ports/route-repository.port';
import type {
  NewToken,
  StoredToken,
  TokenAuditEntry,
  TokenAuditQuery,
  TokenChangeContext,
  TokenStore,
} from '#shared/ports/token-store.port';

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
    if (outcome === 'unchanged') return { outcome, route, event: null, publishLeased: false };
    return {
      outcome,
      route,
      // No outbox here: every event is its route's head, so a lease is always granted when asked for.
      publishLeased: (ctx.publishLeaseMs ?? 0) > 0,
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

/** In-memory TokenStore with the Postgres one's semantics (audit record with every create and revoke). */
export class InMemoryTokenStore implements TokenStore {
  readonly tokens = new Map<string, StoredToken>();
  readonly auditTrail: TokenAuditEntry[] = [];
  failWith: Error | null = null;
  /** The database's clock (what `now()` is in Postgres). */
  clock: () => number = Date.now;

  private check(): void {
    if (this.failWith) throw this.failWith;
  }

  private record(token: StoredToken, action: TokenAuditEntry['action'], ctx: TokenChangeContext): void {
    this.auditTrail.push({
      seq: this.auditTrail.length + 1,
      tokenId: token.id,
      action,
      actor: ctx.actor,
      actorTokenId: ctx.actorTokenId ?? null,
      principal: token.principal,
      role: token.role,
      tenants: token.tenants,
      expiresAt: token.expiresAt,
      correlationId: ctx.correlationId,
      occurredAt: new Date(),
    });
  }

  async insert(token: NewToken, ctx: TokenChangeContext): Promise<boolean> {
    this.check();
    if (this.tokens.has(token.id)) return false;
    const stored = { ...token, revokedAt: null, revokedBy: null };
    this.tokens.set(token.id, stored);
    this.record(stored, 'created', ctx);
    return true;
  }

  async findById(id: string): Promise<StoredToken | null> {
    this.check();
    return this.tokens.get(id) ?? null;
  }

  async list(limit: number): Promise<StoredToken[]> {
    this.check();
    return [...this.tokens.values()].reverse().slice(0, limit);
  }

  async revoke(id: string, ctx: TokenChangeContext, opts: { readonly keepLastAdmin: boolean }) {
    this.check();
    const token = this.tokens.get(id);
    if (!token) return null;
    if (token.revokedAt) return { outcome: 'unchanged' as const, token };
    const now = this.clock();
    const admins = [...this.tokens.values()].filter(
      (t) => t.role === 'admin' && !t.revokedAt && t.expiresAt.getTime() > now,
    );
    if (opts.keepLastAdmin && admins.length === 1 && admins[0]!.id === id) {
      return { outcome: 'last_admin' as const, token };
    }
    const revoked = { ...token, revokedAt: new Date(), revokedBy: ctx.actor };
    this.tokens.set(id, revoked);
    this.record(revoked, 'revoked', ctx);
    return { outcome: 'revoked' as const, token: revoked };
  }

  async audit(q: TokenAuditQuery): Promise<TokenAuditEntry[]> {
    this.check();
    return [...this.auditTrail]
      .reverse()
      .filter(
        (e) => (q.beforeSeq === undefined || e.seq < q.beforeSeq) && (!q.tokenId || e.tokenId === q.tokenId),
      )
      .slice(0, q.limit);
  }

  async hasActiveAdmin(now: Date): Promise<boolean> {
    this.check();
    return [...this.tokens.values()].some(
      (t) => t.role === 'admin' && !t.revokedAt && t.expiresAt.getTime() > now.getTime(),
    );
  }
}
