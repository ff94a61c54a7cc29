import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisRateLimiter } from '#shared/adapters/cache/rate-limiter.redis';
import { ANONYMOUS_ADMIN } from '#shared/domain/auth';
import { DependencyUnavailableError } from '#shared/domain/errors';
import { type Bucket, bucketsFor } from '#shared/domain/rate-limit';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const limiter = new RedisRateLimiter(redis);
beforeAll(async () => {
  await redis.ping(); // connected (the limiter fails fast while it is not)
});
afterAll(() => redis.quit());

const bucket = (perSecond: number, burst: number, scope: Bucket['scope'] = 'tenant'): Bucket => ({
  scope,
  key: `tm:rl:test:${randomUUID()}`,
  perSecond,
  burst,
});
const takeMany = (buckets: Bucket[], n: number) =>
  Promise.all(Array.from({ length: n }, () => limiter.take(buckets)));

describe('RedisRateLimiter (token buckets in one Lua script)', () => {
  it('allows exactly the burst under a concurrent flood, then says how long to wait', async () => {
    const b = bucket(1, 20);

    const decisions = await takeMany([b], 60);

    expect(decisions.filter((d) => d.allowed)).toHaveLength(20);
    const denied = decisions.find((d) => !d.allowed);
    expect(denied).toMatchObject({ allowed: false, scope: 'tenant' });
    expect(denied && !denied.allowed && denied.retryAfterMs).toBeGreaterThan(900);
    expect(denied && !denied.allowed && denied.retryAfterMs).toBeLessThanOrEqual(1000);
  });

  it('refills at the configured rate', async () => {
    const b = bucket(50, 1);
    expect((await limiter.take([b])).allowed).toBe(true);
    expect((await limiter.take([b])).allowed).toBe(false);
    await new Promise((r) => setTimeout(r, 60));
    expect((await limiter.take([b])).allowed).toBe(true);
  });

  it('takes from all buckets or none, and names the one that refused', async () => {
    const tenant = bucket(1, 10);
    const token = bucket(1, 2, 'token');

    const decisions = await takeMany([tenant, token], 5);

    expect(decisions.filter((d) => d.allowed)).toHaveLength(2);
    expect(decisions.filter((d) => !d.allowed).every((d) => !d.allowed && d.scope === 'token')).toBe(true);
    // The tenant bucket lost only the two admitted requests' tokens.
    expect(Number(await redis.hget(tenant.key, 't'))).toBeCloseTo(8, 0);
  });

  it("charges a request's cost: beyond the burst it is admitted on a full bucket and leaves a debt", async () => {
    const tenant = { ...bucket(10, 5), cost: 3 };
    expect((await limiter.take([tenant])).allowed).toBe(true); // 5 → 2
    expect(await limiter.take([tenant])).toMatchObject({ allowed: false }); // needs 3
    const big = { ...bucket(10, 5), cost: 25 };
    expect((await limiter.take([big])).allowed).toBe(true); // full: admitted, 5 → -20
    const next = await limiter.take([{ ...big, cost: 1 }]);
    expect(next).toMatchObject({ allowed: false, scope: 'tenant' });
    // 21 tokens short at 10/s.
    expect(!next.allowed && next.retryAfterMs).toBeGreaterThan(2000);
    expect(Number(await redis.pttl(big.key))).toBeGreaterThan(2500); // the debt outlives a burst's refill
  });

  it('keeps tenants apart, even ones whose names look like another key', async () => {
    const run = randomUUID().slice(0, 8);
    const policy = {
      tenant: {
        read: { perSecond: 0.001, burst: 1 },
        write: { perSecond: 0.001, burst: 1 },
        audit: { perSecond: 0.001, burst: 1 },
      },
      role: {
        resolver: { perSecond: 1, burst: 1 },
        writer: { perSecond: 1, burst: 1 },
        admin: { perSecond: 1, burst: 1 },
      },
    };
    const of = (tenant: string) => bucketsFor(policy, ANONYMOUS_ADMIN, { tenant, operation: 'read' });

    expect((await limiter.take(of(`x${run}`))).allowed).toBe(true);
    expect((await limiter.take(of(`x${run}`))).allowed).toBe(false);
    for (const neighbour of [`x${run}|4:read`, `x${run}:`, `${run}`, `x${run}x`]) {
      expect((await limiter.take(of(neighbour))).allowed, neighbour).toBe(true);
    }
    const writes = bucketsFor(policy, ANONYMOUS_ADMIN, { tenant: `x${run}`, operation: 'write' });
    expect((await limiter.take(writes)).allowed).toBe(true);
  });

  it('leases up to n tokens at once from every bucket, never more than the emptiest holds', async () => {
    const big = bucket(1, 50);
    const small = bucket(1, 7, 'token');

    expect(await limiter.takeUpTo([big, small], 5)).toMatchObject({ decision: { allowed: true }, taken: 5 });
    expect(await limiter.takeUpTo([big, small], 5)).toMatchObject({ decision: { allowed: true }, taken: 2 });
    expect(await limiter.takeUpTo([big, small], 5)).toMatchObject({
      decision: { allowed: false, scope: 'token' },
    });
    expect(Number(await redis.hget(big.key, 't'))).toBeCloseTo(43, 0);
  });

  it('lets an idle bucket expire once it would be full again', async () => {
    const b = bucket(10, 5);
    await limiter.take([b]);
    const ttl = await redis.pttl(b.key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1500);
  });

  it('fails as the cache dependency while Redis is unreachable', async () => {
    const dead = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    dead.on('error', () => {});
    await expect(new RedisRateLimiter(dead).take([bucket(1, 1)])).rejects.toBeInstanceOf(
      DependencyUnavailableError,
    );
    dead.disconnect();
  });
});
