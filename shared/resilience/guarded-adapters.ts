import type { CacheEntry } from '#shared/domain/cache-entry';
import { DependencyUnavailableError } from '#shared/domain/errors';
import type {
  RouteDetail,
  RouteKey,
  RouteListQuery,
  RouteRecord,
  RouteWriteResult,
  WriteContext,
} from '#shared/domain/route';
import type { RouteCache } from '#shared/ports/route-cache.port';
import type { RouteRepository } from '#shared/ports/route-repository.port';
import type { TokenStore } from '#shared/ports/token-store.port';
import type { DependencyGuard } from './dependency-guard.ts';
import type { RetryBudget } from './retry-budget.ts';

/** A read behind the breaker, retried once when it found the dependency unavailable and the budget allows. */
export const guardedRead = async <T>(
  guard: DependencyGuard,
  budget: RetryBudget,
  fn: () => Promise<T>,
): Promise<T> => {
  budget.recordAttempt();
  try {
    return await guard.execute(fn);
  } catch (err) {
    if (!(err instanceof DependencyUnavailableError) || guard.isOpen || !budget.tryRetry()) throw err;
    return guard.execute(fn);
  }
};

/**
 * The route repository behind its breaker. Reads are retried once when the budget allows (a read is
 * safe to repeat); writes are not retried here (the caller gets a 503 and may retry with the same
 * Idempotency-Key). `ping` bypasses the breaker so readiness reports the database's real state.
 */
export class GuardedRouteRepository implements RouteRepository {
  constructor(
    private readonly inner: RouteRepository,
    private readonly guard: DependencyGuard,
    private readonly budget: RetryBudget,
  ) {}

  findRoute(key: RouteKey): Promise<RouteRecord | null> {
    return this.read(() => this.inner.findRoute(key));
  }

  findRouteDetail(key: RouteKey): Promise<RouteDetail | null> {
    return this.read(() => this.inner.findRouteDetail(key));
  }

  listRoutes(query: RouteListQuery): Promise<RouteRecord[]> {
    return this.read(() => this.inner.listRoutes(query));
  }

  private read<T>(fn: () => Promise<T>): Promise<T> {
    return guardedRead(this.guard, this.budget, fn);
  }

  upsertRoute(key: RouteKey, url: string, ctx: WriteContext): Promise<RouteWriteResult> {
    return this.guard.execute(() => this.inner.upsertRoute(key, url, ctx));
  }

  setRouteActive(key: RouteKey, active: boolean, ctx: WriteContext): Promise<RouteWriteResult | null> {
    return this.guard.execute(() => this.inner.setRouteActive(key, active, ctx));
  }

  rollbackRoute(
    key: RouteKey,
    toRevision: number | null,
    ctx: WriteContext,
  ): Promise<RouteWriteResult | null> {
    return this.guard.execute(() => this.inner.rollbackRoute(key, toRevision, ctx));
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }
}

/** The cache behind its breaker: while Redis is down, resolves skip it without waiting for timeouts. */
export class GuardedRouteCache implements RouteCache {
  readonly name: string;

  constructor(
    private readonly inner: RouteCache,
    private readonly guard: DependencyGuard,
  ) {
    this.name = inner.name;
  }

  get(key: string): Promise<CacheEntry | null> {
    return this.guard.execute(() => this.inner.get(key));
  }

  putIfNewer(key: string, entry: CacheEntry, ttlMs: number): Promise<boolean> {
    return this.guard.execute(() => this.inner.putIfNewer(key, entry, ttlMs));
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }
}

/** The token store behind the database's breaker: while Postgres is down the authorizer fails fast. */
export class GuardedTokenStore implements TokenStore {
  constructor(
    private readonly inner: TokenStore,
    private readonly guard: DependencyGuard,
  ) {}

  insert(...args: Parameters<TokenStore['insert']>) {
    return this.guard.execute(() => this.inner.insert(...args));
  }

  findById(id: string) {
    return this.guard.execute(() => this.inner.findById(id));
  }

  list(limit: number) {
    return this.guard.execute(() => this.inner.list(limit));
  }

  revoke(...args: Parameters<TokenStore['revoke']>) {
    return this.guard.execute(() => this.inner.revoke(...args));
  }

  audit(...args: Parameters<TokenStore['audit']>) {
    return this.guard.execute(() => this.inner.audit(...args));
  }

  hasActiveAdmin(now: Date) {
    return this.guard.execute(() => this.inner.hasActiveAdmin(now));
  }
}
