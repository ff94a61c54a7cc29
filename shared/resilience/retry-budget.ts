export interface RetryBudgetSnapshot {
  readonly available: number;
  readonly capacity: number;
  readonly granted_total: number;
  readonly denied_total: number;
}

/**
 * Retries may add at most `ratio` extra calls per first attempt (plus a small floor refilled per
 * second), so during an outage retries cannot multiply the load (Envoy/Finagle-style retry budget).
 */
export class RetryBudget {
  private tokens: number;
  private last: number;
  private granted = 0;
  private denied = 0;

  constructor(
    private readonly ratio = 0.1,
    private readonly minPerSecond = 5,
    private readonly capacity = 50,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = capacity;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) / 1000) * this.minPerSecond);
    this.last = t;
  }

  /** Called for every first attempt: each earns `ratio` of a retry. */
  recordAttempt(): void {
    this.refill();
    this.tokens = Math.min(this.capacity, this.tokens + this.ratio);
  }

  tryRetry(): boolean {
    this.refill();
    if (this.tokens >= 1 - 1e-9) {
      // (tolerance: ten attempts at ratio 0.1 sum to 0.999… in floating point)
      this.tokens -= 1;
      this.granted++;
      return true;
    }
    this.denied++;
    return false;
  }

  snapshot(): RetryBudgetSnapshot {
    this.refill();
    return {
      available: Math.floor(this.tokens),
      capacity: this.capacity,
      granted_total: this.granted,
      denied_total: this.denied,
    };
  }
}
