import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LeasedRateLimiter } from '#shared/adapters/cache/rate-limiter.leased';
import { MemoryRateLimiter } from '#shared/adapters/cache/rate-limiter.memory';
import { ANONYMOUS_ADMIN, type Principal } from '#shared/domain/auth';
import { DependencyUnavailableError } from '#shared/domain/errors';
import {
  ALLOWED,
  type Bucket,
  type BucketState,
  bucketsFor,
  bucketsForShares,
  type RateLimitPolicy,
  takeFromBuckets,
} from '#shared/domain/rate-limit';
import type { LeasableRateLimiter, RateLimiter } from '#shared/ports/rate-limiter.port';
import { type AdmitDeps, admitRequest } from '#shared/use-cases/admit-request.use-case';

const policy: RateLimitPolicy = {
  tenant: {
    read: { perSecond: 100, burst: 200 },
    write: { perSecond: 5, burst: 10 },
    audit: { perSecond: 1, burst: 2 },
  },
  role: {
    resolver: { perSecond: 50, burst: 50 },
    writer: { perSecond: 20, burst: 20 },
    admin: { perSecond: 10, burst: 10 },
  },
};
const token: Principal = {
  name: 'svc',
  role: 'writer',
  tenants: '*',
  tokenId: 'abcdefghijklmnop',
  expiresAt: null,
};
const bucket = (
  key: string,
  perSecond: number,
  burst: number,
  scope: Bucket['scope'] = 'tenant',
): Bucket => ({
  scope,
  key,
  perSecond,
  burst,
});

describe('bucketsFor', () => {
  it("charges the tenant's bucket for the operation and the token's bucket for its role", () => {
    expect(bucketsFor(policy, token, { tenant: 'team-a', operation: 'write' })).toEqual([
      { scope: 'tenant', key: 'tm:rl:v1:tenant:6:team-a|5:write', perSecond: 5, burst: 10 },
      { scope: 'token', key: 'tm:rl:v1:token:16:abcdefghijklmnop', perSecond: 20, burst: 20 },
    ]);
    expect(bucketsFor(policy, token, { operation: 'admin' })).toHaveLength(1);
    expect(bucketsFor(policy, ANONYMOUS_ADMIN, { tenant: 'team-a', operation: 'read' })).toHaveLength(1);
  });

  it('never gives two different (tenant, operation) pairs the same key', () => {
    const ops = fc.constantFrom('read', 'write', 'audit') as fc.Arbitrary<'read' | 'write' | 'audit'>;
    fc.assert(
      fc.property(fc.string(), ops, fc.string(), ops, (t1, o1, t2, o2) => {
        fc.pre(t1 !== t2 || o1 !== o2);
        const [a] = bucketsFor(policy, ANONYMOUS_ADMIN, { tenant: t1, operation: o1 });
        const [b] = bucketsFor(policy, ANONYMOUS_ADMIN, { tenant: t2, operation: o2 });
        expect(a!.key).not.toBe(b!.key);
      }),
    );
    // The first version's naive keys collided exactly like this.
    const [x] = bucketsFor(policy, ANONYMOUS_ADMIN, { tenant: 'x|4:read', operation: 'read' });
    const [y] = bucketsFor(policy, ANONYMOUS_ADMIN, { tenant: 'x', operation: 'read' });
    expect(x!.key).not.toBe(y!.key);
  });
});

/** Runs `takeFromBuckets` over a schedule of request times (ms), one bucket. */
const simulate = (b: Bucket, times: number[]) => {
  let state: BucketState | undefined;
  return times.map((t) => {
    const r = takeFromBuckets([b], [state], t);
    state = r.states[0];
    return { t, decision: r.decision };
  });
};

describe('takeFromBuckets (the rule the Redis script implements)', () => {
  it('never allows more than burst + rate × elapsed in any window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 100 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 300 }),
        (perSecond, burst, gaps) => {
          let t = 0;
          const times = gaps.map((g) => (t += g));
          const results = simulate(bucket('k', perSecond, burst), times);
          const allowed = results.filter((r) => r.decision.allowed).map((r) => r.t);
          for (let i = 0; i < allowed.length; i++) {
            for (let j = i; j < allowed.length; j++) {
              const window = allowed[j]! - allowed[i]!;
              expect(j - i + 1).toBeLessThanOrEqual(burst + (window * perSecond) / 1000 + 1e-9);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('allows a full burst at once, then one request per 1/rate, with the wait as Retry-After', () => {
    const results = simulate(bucket('k', 10, 3), [0, 0, 0, 0, 50, 100, 100]);
    expect(results.map((r) => r.decision.allowed)).toEqual([true, true, true, false, false, true, false]);
    expect(results[3]!.decision).toEqual({ allowed: false, scope: 'tenant', retryAfterMs: 100 });
    expect(results[4]!.decision).toMatchObject({ retryAfterMs: 50 });
  });

  it('takes from every bucket or from none: a denial by one leaves the other untouched', () => {
    const tenant = bucket('t', 1, 5);
    const tokenBucket = bucket('k', 1, 1, 'token');
    const first = takeFromBuckets([tenant, tokenBucket], [undefined, undefined], 0);
    expect(first.decision).toBe(ALLOWED);
    const second = takeFromBuckets([tenant, tokenBucket], first.states, 0);
    expect(second.decision).toMatchObject({ allowed: false, scope: 'token' });
    expect(second.states[0]!.tokens).toBe(4);
  });
});

describe('bulk changes: a cost per bucket (issue 15)', () => {
  it('charges each tenant its share and the token every operation, in one decision', () => {
    const buckets = bucketsForShares(
      policy,
      token,
      'write',
      new Map([
        ['team-a', 3],
        ['team-b', 1],
      ]),
    );
    expect(buckets.map((b) => [b.scope, b.key, b.cost])).toEqual([
      ['tenant', 'tm:rl:v1:tenant:6:team-a|5:write', 3],
      ['tenant', 'tm:rl:v1:tenant:6:team-b|5:write', 1],
      ['token', 'tm:rl:v1:token:16:abcdefghijklmnop', 4],
    ]);
    const r = takeFromBuckets(buckets, [undefined, undefined, undefined], 0);
    expect(r.decision).toBe(ALLOWED);
    expect(r.states.map((s) => s.tokens)).toEqual([7, 9, 16]);
  });

  it('denies a costly request the bucket cannot cover, taking nothing from any bucket', () => {
    const tenant = { ...bucket('t', 5, 10), cost: 4 };
    const other = bucket('o', 5, 10);
    const r = takeFromBuckets([tenant, other], [{ tokens: 2, at: 0 }, undefined], 0);
    expect(r.decision).toEqual({ allowed: false, scope: 'tenant', retryAfterMs: 400 });
    expect(r.states.map((s) => s.tokens)).toEqual([2, 10]);
  });

  it('admits a request costing more than the burst on a full bucket, and its debt delays the next', () => {
    const b = { ...bucket('t', 5, 10), cost: 30 };
    const first = takeFromBuckets([b], [undefined], 0);
    expect(first.decision).toBe(ALLOWED);
    expect(first.states[0]!.tokens).toBe(-20);
    const next = takeFromBuckets([{ ...b, cost: 1 }], first.states, 1000);
    // 5 tokens back after a second, 16 more to reach one: 3.2 s.
    expect(next.decision).toEqual({ allowed: false, scope: 'tenant', retryAfterMs: 3200 });
  });

  it('charges a costly request in the shared buckets directly, never from a local lease', async () => {
    let now = 0;
    const shared = new FakeSharedBuckets(() => now);
    const leased = new LeasedRateLimiter(shared, { leaseMs: 50, maxKeys: 100 }, () => now);
    const b = bucket('t', 100, 100);
    for (let i = 0; i < 20; i++) await leased.take([b]); // builds up a lease of several tokens
    const before = shared.calls;
    expect(await leased.take([{ ...b, cost: 50 }])).toBe(ALLOWED);
    expect(shared.calls).toBe(before + 1);
    now += 1;
    expect(await leased.take([{ ...b, cost: 60 }])).toMatchObject({ allowed: false });
  });
});

describe('MemoryRateLimiter', () => {
  it('keeps at most maxKeys buckets, dropping the least recently used', async () => {
    let now = 0;
    const limiter = new MemoryRateLimiter(3, () => now);
    for (const key of ['a', 'b', 'c', 'a', 'd']) await limiter.take([bucket(key, 1, 1)]);
    expect(limiter.size).toBe(3);
    now += 1; // `a` was used recently and is still empty; `b` was dropped and comes back full
    expect((await limiter.take([bucket('a', 1, 1)])).allowed).toBe(false);
    expect((await limiter.take([bucket('b', 1, 1)])).allowed).toBe(true);
  });
});

/** The shared store as the Redis script behaves, on a fake clock, counting its calls and tokens. */
class FakeSharedBuckets implements LeasableRateLimiter {
  calls = 0;
  tokensTaken = 0;
  failWith: Error | null = null;
  private readonly states = new Map<string, BucketState>();
  constructor(private readonly now: () => number) {}
  async take(buckets: readonly Bucket[]) {
    return (await this.takeUpTo(buckets, 1)).decision;
  }
  async takeUpTo(buckets: readonly Bucket[], wanted: number) {
    this.calls++;
    await Promise.resolve();
    if (this.failWith) throw this.failWith;
    const r = takeFromBuckets(
      buckets,
      buckets.map((b) => this.states.get(b.key)),
      this.now(),
      wanted,
    );
    for (const [i, b] of buckets.entries()) this.states.set(b.key, r.states[i]!);
    this.tokensTaken += r.taken;
    return { decision: r.decision, taken: r.taken };
  }
}

describe('LeasedRateLimiter', () => {
  const setup = () => {
    let now = 1_000_000;
    const shared = new FakeSharedBuckets(() => now);
    const leased = new LeasedRateLimiter(shared, { leaseMs: 50, maxKeys: 100 }, () => now);
    return { shared, leased, advance: (ms: number) => (now += ms) };
  };

  it('calls the shared store once per batch under load, never allowing more than it was granted', async () => {
    const { shared, leased, advance } = setup();
    const fast = bucket('fast', 2000, 4000);
    let allowed = 0;
    for (let i = 0; i < 3000; i++) {
      if ((await leased.take([fast])).allowed) allowed++;
      if (i % 10 === 0) advance(1); // ~10 requests per ms: 10k/s offered to a 2k/s bucket
    }
    expect(shared.calls).toBeLessThan(150);
    expect(allowed).toBeLessThanOrEqual(shared.tokensTaken);
    expect(allowed).toBeLessThanOrEqual(4000 + 2000 * 0.3 + 1);
  });

  it('stays exact for low-rate buckets: one shared call per request', async () => {
    const { shared, leased } = setup();
    const slow = bucket('slow', 5, 5);
    const decisions = await Promise.all(Array.from({ length: 8 }, () => leased.take([slow])));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
    expect(shared.tokensTaken).toBe(5);
  });

  it('remembers a denial until its Retry-After instead of asking again', async () => {
    const { shared, leased, advance } = setup();
    const slow = bucket('slow', 10, 1);
    await leased.take([slow]);
    const denied = await leased.take([slow]);
    const calls = shared.calls;
    for (let i = 0; i < 50; i++) expect((await leased.take([slow])).allowed).toBe(false);
    expect(shared.calls).toBe(calls);
    advance(denied.allowed ? 0 : denied.retryAfterMs);
    expect((await leased.take([slow])).allowed).toBe(true);
  });

  it('shrinks the lease to what a quiet process uses, so idle containers do not hoard tokens', async () => {
    const { shared, leased, advance } = setup();
    const fast = bucket('fast', 2000, 4000);
    for (let i = 0; i < 500; i++) await leased.take([fast]); // grows the lease
    const before = shared.tokensTaken;
    for (let i = 0; i < 5; i++) {
      advance(60); // one request per lease window from now on
      await leased.take([fast]);
    }
    expect(shared.tokensTaken - before).toBeLessThan(110); // leftovers shrink the next lease each time
    advance(60);
    const last = shared.tokensTaken;
    await leased.take([fast]);
    expect(shared.tokensTaken - last).toBeLessThanOrEqual(2);
  });

  it('passes a store failure to every waiting caller, and recovers with the store', async () => {
    const { shared, leased } = setup();
    shared.failWith = new DependencyUnavailableError('cache', 'down');
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => leased.take([bucket('k', 100, 100)])),
    );
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(shared.calls).toBe(1);
    shared.failWith = null;
    expect((await leased.take([bucket('k', 100, 100)])).allowed).toBe(true);
  });
});

describe('admitRequest', () => {
  const failing: RateLimiter = {
    take: async () => {
      throw new DependencyUnavailableError('cache', 'down');
    },
  };
  const deps = (over: Partial<AdmitDeps> = {}): AdmitDeps & { errors: unknown[] } => {
    const errors: unknown[] = [];
    return {
      policy,
      shared: failing,
      local: new MemoryRateLimiter(),
      onLimiterError: (err) => errors.push(err),
      errors,
      ...over,
    };
  };
  const writes = { tenant: 'team-a', operation: 'write' } as const;

  it('fails open while the shared store is down when asked to (the resolve path), and reports it', async () => {
    const d = deps();
    for (let i = 0; i < 50; i++)
      expect(await admitRequest(d, ANONYMOUS_ADMIN, writes, 'allow')).toBe(ALLOWED);
    expect(d.errors).toHaveLength(50);
  });

  it('falls back to in-process buckets while the shared store is down (writes)', async () => {
    const d = deps();
    const decisions = [];
    for (let i = 0; i < 12; i++) decisions.push(await admitRequest(d, ANONYMOUS_ADMIN, writes, 'local'));
    expect(decisions.filter((x) => x.allowed)).toHaveLength(10);
    expect(decisions.at(-1)).toMatchObject({ allowed: false, scope: 'tenant' });
  });

  it('uses in-process buckets where there is no shared store, and nothing when limits are off', async () => {
    const none = deps({ shared: null });
    for (let i = 0; i < 10; i++) await admitRequest(none, ANONYMOUS_ADMIN, writes, 'allow');
    expect((await admitRequest(none, ANONYMOUS_ADMIN, writes, 'allow')).allowed).toBe(false);
    expect(none.errors).toEqual([]);

    const off = deps({ policy: null });
    expect(await admitRequest(off, ANONYMOUS_ADMIN, writes, 'local')).toBe(ALLOWED);
  });
});
