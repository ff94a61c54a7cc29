import { getConfig } from '#shared/config/config';
import type { Dependency } from '#shared/domain/errors';
import { logger } from '#shared/observability/logger';
import { DependencyGuard, type GuardSnapshot } from './dependency-guard.ts';
import { RetryBudget, type RetryBudgetSnapshot } from './retry-budget.ts';

/** One breaker per dependency and one retry budget per container (or local-runner process). */
const guards = new Map<Dependency, DependencyGuard>();
let budget: RetryBudget | undefined;

export const guardFor = (dependency: Dependency): DependencyGuard => {
  let guard = guards.get(dependency);
  if (!guard) {
    const { failureThreshold, halfOpenAfterMs } = getConfig().resilience;
    guard = new DependencyGuard(dependency, { failureThreshold, halfOpenAfterMs }, (dep, state) =>
      (state === 'closed' ? logger.info : logger.warn)(`circuit ${state}`, {
        dependency: dep,
        circuit: state,
      }),
    );
    guards.set(dependency, guard);
  }
  return guard;
};

export const retryBudget = (): RetryBudget => {
  const r = getConfig().resilience;
  budget ??= new RetryBudget(r.retryBudgetRatio, r.retryBudgetMinPerSecond);
  return budget;
};

export interface ResilienceSnapshot {
  readonly breakers: Record<string, Omit<GuardSnapshot, 'dependency'>>;
  readonly retry_budget: RetryBudgetSnapshot;
}

export const resilienceSnapshot = (): ResilienceSnapshot => ({
  breakers: Object.fromEntries(
    [...guards.values()].map((guard) => {
      const { dependency, ...state } = guard.snapshot();
      return [dependency, state];
    }),
  ),
  retry_budget: retryBudget().snapshot(),
});
