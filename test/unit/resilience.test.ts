import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError, RouteNotFoundError } from '#shared/domain/errors';
import { DependencyGuard } from '#shared/resilience/dependency-guard';
import { GuardedRouteRepository } from '#shared/resilience/guarded-adapters';
import { RetryBudget } from '#shared/resilience/retry-budget';
import { InMemoryRouteRepository } from '#test/support/fakes';
import { uniqueRouteKey } from '#test/support/fixtures';

const down = () => new DependencyUnavailableError('database', 'down');
const guardFor = () => new DependencyGuard('database', { failureThreshold: 3, halfOpenAfterMs: 50 });

describe('DependencyGuard', () => {
  it('opens after consecutive dependency failures and then fails fast without calling', async () => {
    const guard = guardFor();
    let calls = 0;
    const failing = async () => {
      calls++;
      throw down();
    };
    for (let i = 0; i < 3; i++)
      await expect(guard.execute(failing)).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(guard.snapshot().state).toBe('open');

    await expect(guard.execute(failing)).rejects.toThrow(/circuit is open/);
    expect(calls).toBe(3);
    expect(guard.snapshot()).toMatchObject({ opened_total: 1, rejected_total: 1 });
  });

  it('never opens on answers such as not-found, however many', async () => {
    const guard = guardFor();
    for (let i = 0; i < 20; i++) {
      await expect(
        guard.execute(async () => Promise.reject(new RouteNotFoundError('no'))),
      ).rejects.toBeInstanceOf(RouteNotFoundError);
    }
    expect(guard.snapshot().state).toBe('closed');
  });

  it('lets a trial call through after the half-open delay and closes when it succeeds', async () => {
    const guard = guardFor();
    for (let i = 0; i < 3; i++) await guard.execute(async () => Promise.reject(down())).catch(() => {});
    await new Promise((r) => setTimeout(r, 60));
    expect(await guard.execute(async () => 'ok')).toBe('ok');
    expect(guard.snapshot().state).toBe('closed');
  });
});

describe('RetryBudget', () => {
  it('grants retries up to its capacity, then only as attempts and time earn them', () => {
    let now = 0;
    const budget = new RetryBudget(0.1, 5, 3, () => now);
    expect([budget.tryRetry(), budget.tryRetry(), budget.tryRetry(), budget.tryRetry()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    for (let i = 0; i < 10; i++) budget.recordAttempt(); // ten attempts earn one retry
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    now += 200; // 5 per second: one more after 200 ms
    expect(budget.tryRetry()).toBe(true);
    expect(budget.snapshot()).toMatchObject({ granted_total: 5, denied_total: 2 });
  });
});

describe('GuardedRouteRepository', () => {
  it('retries a failed read once within the budget', async () => {
    const repo = new InMemoryRouteRepository();
    const key = uniqueRouteKey();
    await repo.upsertRoute(key, 'https://a.example.com', { changedBy: 't', correlationId: null });
    let failures = 1;
    const flaky = Object.create(repo) as InMemoryRouteRepository;
    flaky.findRoute = async (k) => {
      if (failures-- > 0) throw down();
      return repo.findRoute(k);
    };
    const guarded = new GuardedRouteRepository(flaky, guardFor(), new RetryBudget());
    expect(await guarded.findRoute(key)).toMatchObject({ url: 'https://a.example.com' });
  });

  it('does not retry a failed write', async () => {
    const repo = new InMemoryRouteRepository();
    let calls = 0;
    repo.upsertRoute = async () => {
      calls++;
      throw down();
    };
    const guarded = new GuardedRouteRepository(repo, guardFor(), new RetryBudget());
    await expect(
      guarded.upsertRoute(uniqueRouteKey(), 'https://a', { changedBy: 't', correlationId: null }),
    ).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(calls).toBe(1);
  });

  it('stops retrying when the budget is spent', async () => {
    const repo = new InMemoryRouteRepository();
    repo.failWith = down();
    const budget = new RetryBudget(0, 0, 1);
    const guarded = new GuardedRouteRepository(
      repo,
      new DependencyGuard('database', { failureThreshold: 100, halfOpenAfterMs: 1000 }),
      budget,
    );
    for (let i = 0; i < 5; i++) await guarded.findRoute(uniqueRouteKey()).catch(() => {});
    expect(repo.findCalls).toBe(6); // five attempts, one retry
    expect(budget.snapshot().denied_total).toBe(4);
  });
});
