import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  IsolatedCircuitError,
} from 'cockatiel';
import { type Dependency, DependencyUnavailableError } from '#shared/domain/errors';

export interface GuardOptions {
  /** Consecutive dependency failures that open the circuit. */
  readonly failureThreshold: number;
  /** How long an open circuit fails fast before one trial call is let through. */
  readonly halfOpenAfterMs: number;
}

export interface GuardSnapshot {
  readonly dependency: Dependency;
  readonly state: 'closed' | 'open' | 'half_open' | 'isolated';
  readonly opened_total: number;
  readonly rejected_total: number;
}

const STATE_NAMES = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'isolated',
} as const;

/**
 * A circuit breaker for one dependency (cockatiel). Only `DependencyUnavailableError` counts as a
 * failure: a 404, a validation error or a duplicate are answers, never a reason to stop calling.
 * While open, calls fail at once with DependencyUnavailableError instead of waiting for timeouts.
 */
export class DependencyGuard {
  private readonly breaker;
  private opened = 0;
  private rejected = 0;

  constructor(
    readonly dependency: Dependency,
    options: GuardOptions,
    onStateChange?: (dependency: Dependency, state: GuardSnapshot['state']) => void,
  ) {
    this.breaker = circuitBreaker(
      handleWhen((err) => err instanceof DependencyUnavailableError),
      { halfOpenAfter: options.halfOpenAfterMs, breaker: new ConsecutiveBreaker(options.failureThreshold) },
    );
    this.breaker.onBreak(() => this.opened++);
    this.breaker.onStateChange((state) => onStateChange?.(dependency, STATE_NAMES[state]));
  }

  async execute<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await this.breaker.execute(fn);
    } catch (err) {
      if (err instanceof BrokenCircuitError || err instanceof IsolatedCircuitError) {
        this.rejected++;
        throw new DependencyUnavailableError(this.dependency, `${this.dependency} circuit is open`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  get isOpen(): boolean {
    return this.breaker.state === CircuitState.Open || this.breaker.state === CircuitState.Isolated;
  }

  snapshot(): GuardSnapshot {
    return {
      dependency: this.dependency,
      state: STATE_NAMES[this.breaker.state],
      opened_total: this.opened,
      rejected_total: this.rejected,
    };
  }
}
