import type { WriteContext } from '#shared/domain/route';
import type { SplitKey, SplitRecord, SplitState, SplitWriteResult, Weights } from '#shared/domain/split';
import type { SplitRepository } from '#shared/ports/split-repository.port';
import type { DependencyGuard } from './dependency-guard.ts';
import { guardedRead } from './guarded-adapters.ts';
import type { RetryBudget } from './retry-budget.ts';

/** The split repository behind the database's breaker, as GuardedRouteRepository: reads retried once, writes not. */
export class GuardedSplitRepository implements SplitRepository {
  constructor(
    private readonly inner: SplitRepository,
    private readonly guard: DependencyGuard,
    private readonly budget: RetryBudget,
  ) {}

  findSplit(key: SplitKey): Promise<SplitRecord | null> {
    return this.read(() => this.inner.findSplit(key));
  }

  loadSplitState(key: SplitKey): Promise<SplitState> {
    return this.read(() => this.inner.loadSplitState(key));
  }

  private read<T>(fn: () => Promise<T>): Promise<T> {
    return guardedRead(this.guard, this.budget, fn);
  }

  putSplit(key: SplitKey, weights: Weights, ctx: WriteContext): Promise<SplitWriteResult> {
    return this.guard.execute(() => this.inner.putSplit(key, weights, ctx));
  }

  deleteSplit(key: SplitKey, ctx: WriteContext): Promise<SplitWriteResult | null> {
    return this.guard.execute(() => this.inner.deleteSplit(key, ctx));
  }
}
