import { randomUUID } from 'node:crypto';
import { NothingToRollBackError, PreconditionFailedError } from '#shared/domain/errors';
import type {
  RouteDetail,
  RouteKey,
  RouteListQuery,
  RouteRecord,
  RouteWriteResult,
  WriteContext,
} from '#shared/domain/route';
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
  /** Every revision of every route (route_revisions), by route label. */
  readonly history = new Map<string, RouteRecord[]>();
  /**
   * Splits, as far as route writes see them: the versions each (tenant/service/env) split names and its
   * cache revision, which a URL change of one of those versions bumps (the SQL trigger's rule).
   */
  readonly splits = new Map<string, { versions: readonly string[]; cacheRevision: number }>();
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

  /** Throws PreconditionFailedError unless ctx.precondition holds for `current` (as the SQL functions). */
  private checkPrecondition(key: RouteKey, current: RouteRecord | null, ctx: WriteContext): void {
    const p = ctx.precondition;
    if (!p) return;
    const holds =
      p.kind === 'absent'
        ? current === null
        : current !== null && (p.kind === 'exists' || p.revisions.includes(current.revision));
    if (!holds) {
      throw new PreconditionFailedError(
        `route ${routeLabel(key)} precondition failed`,
        current?.revision ?? null,
      );
    }
  }

  private store(route: RouteRecord): void {
    this.routes.set(routeLabel(route), route);
    const past = this.history.get(routeLabel(route)) ?? [];
    this.history.set(routeLabel(route), [...past, route]);
  }

  /** The split's new cache revision when it names the route's version; undefined otherwise. */
  private bumpSplit(route: RouteKey): number | undefined {
    const label = `${route.tenant}/${route.service}/${route.env}`;
    const split = this.splits.get(label);
    if (!split?.versions.includes(route.version)) return undefined;
    const cacheRevision = split.cacheRevision + 1;
    this.splits.set(label, { ...split, cacheRevision });
    return cacheRevision;
  }

  private result(
    outcome: RouteWriteResult['outcome'],
    route: RouteRecord,
    prev: RouteRecord | null,
    ctx: WriteContext,
    restoredRevision?: number,
  ): RouteWriteResult {
    if (outcome === 'unchanged') return { outcome, route, event: null, publishLeased: false };
    const splitCacheRevision = prev && prev.url !== route.url ? this.bumpSplit(route) : undefined;
    return {
      outcome,
      route,
      ...(splitCacheRevision !== undefined ? { splitCacheRevision } : {}),
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
        ...(restoredRevision !== undefined ? { restoredRevision } : {}),
        changedBy: ctx.changedBy,
        ...(ctx.changedByTokenId ? { changedByTokenId: ctx.changedByTokenId } : {}),
        occurredAt: new Date().toISOString(),
        correlationId: ctx.correlationId,
      },
    };
  }

  async upsertRoute(key: RouteKey, url: string, ctx: WriteContext): Promise<RouteWriteResult> {
    this.check();
    const prev = this.routes.get(routeLabel(key)) ?? null;
    this.checkPrecondition(key, prev, ctx);
    if (prev && prev.url === url) return this.result('unchanged', prev, prev, ctx);
    const route: RouteRecord = {
      ...key,
      url,
      isActive: prev?.isActive ?? true,
      revision: (prev?.revision ?? 0) + 1,
    };
    this.store(route);
    return this.result(prev ? 'updated' : 'created', route, prev, ctx);
  }

  async setRouteActive(key: RouteKey, active: boolean, ctx: WriteContext): Promise<RouteWriteResult | null> {
    this.check();
    const prev = this.routes.get(routeLabel(key));
    if (!prev) return null;
    this.checkPrecondition(key, prev, ctx);
    if (prev.isActive === active) return this.result('unchanged', prev, prev, ctx);
    const route = { ...prev, isActive: active, revision: prev.revision + 1 };
    this.store(route);
    return this.result(active ? 'activated' : 'deactivated', route, prev, ctx);
  }

  async rollbackRoute(
    key: RouteKey,
    toRevision: number | null,
    ctx: WriteContext,
  ): Promise<RouteWriteResult | null> {
    this.check();
    const prev = this.routes.get(routeLabel(key));
    if (!prev) return null;
    this.checkPrecondition(key, prev, ctx);
    const target = toRevision ?? prev.revision - 1;
    const old =
      target < prev.revision
        ? this.history.get(routeLabel(key))?.find((r) => r.revision === target)
        : undefined;
    if (!old)
      throw new NothingToRollBackError(`route ${routeLabel(key)}: nothing to roll back to`, prev.revision);
    if (old.url === prev.url && old.isActive === prev.isActive)
      return this.result('unchanged', prev, prev, ctx);
    const route = { ...prev, url: old.url, isActive: old.isActive, revision: prev.revision + 1 };
    this.store(route);
    return this.result('rolled_back', route, prev, ctx, target);
  }

  async findRouteDetail(key: RouteKey): Promise<RouteDetail | null> {
    this.check();
    const route = this.routes.get(routeLabel(key));
    const first = this.history.get(routeLabel(key))?.[0];
    if (!route || !first) return null;
    const epoch = new Date(0);
    return { ...route, createdAt: epoch, updatedAt: epoch, createdBy: 'fake', updatedBy: 'fake' };
  }

  async listRoutes(q: RouteListQuery): Promise<RouteRecord[]> {
    this.check();
    const order = (r: RouteKey) => [r.service, r.env, r.version].join('\u0000');
    const after = q.after ? order({ tenant: q.tenant, ...q.after }) : null;
    return [...this.routes.values()]
      .filter(
        (r) =>
          r.tenant === q.tenant &&
          (q.service === undefined || r.service === q.service) &&
          (q.env === undefined || r.env === q.env) &&
          (q.active === undefined || r.isActive === q.active) &&
          (after === null || order(r) > after),
      )
      .sort((a, b) => (order(a) < order(b) ? -1 : 1))
      .slice(0, q.limit);
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
