import type { Redis } from 'ioredis';
import { DependencyUnavailableError } from '#shared/domain/errors';
import { ALLOWED, type Bucket, type RateDecision } from '#shared/domain/rate-limit';
import type { LeasableRateLimiter } from '#shared/ports/rate-limiter.port';
import { TOKEN_BUCKET_LUA } from './token-bucket.lua.ts';

type RedisWithScript = Redis & {
  tmTakeTokens(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<[number, number, number]>;
};

/**
 * Token buckets shared by every container, one atomic script per request (EVALSHA; on the resolve
 * path it runs alongside the cache GET, pipelined on the same connection). Fails fast like the route
 * cache: no offline queue, the client's command timeout.
 */
export class RedisRateLimiter implements LeasableRateLimiter {
  private readonly redis: RedisWithScript;

  constructor(redis: Redis) {
    if (!('tmTakeTokens' in redis)) redis.defineCommand('tmTakeTokens', { lua: TOKEN_BUCKET_LUA });
    this.redis = redis as RedisWithScript;
  }

  async take(buckets: readonly Bucket[]): Promise<RateDecision> {
    return (await this.takeUpTo(buckets, 1)).decision;
  }

  async takeUpTo(
    buckets: readonly Bucket[],
    wanted: number,
  ): Promise<{ decision: RateDecision; taken: number }> {
    if (buckets.length === 0) return { decision: ALLOWED, taken: wanted };
    if (this.redis.status !== 'ready') {
      throw new DependencyUnavailableError('cache', 'rate limiter store is unavailable', {
        cause: new Error(`redis status ${this.redis.status}`),
      });
    }
    const [allowed, detail, wait] = await this.redis
      .tmTakeTokens(
        buckets.length,
        ...buckets.map((b) => b.key),
        wanted,
        ...buckets.flatMap((b) => [b.perSecond, b.burst, b.cost ?? 1]),
      )
      .catch((err: unknown) => {
        throw new DependencyUnavailableError('cache', 'rate limiter store is unavailable', { cause: err });
      });
    if (allowed === 1) return { decision: ALLOWED, taken: detail };
    return {
      decision: { allowed: false, scope: buckets[detail - 1]?.scope ?? 'tenant', retryAfterMs: wait },
      taken: 0,
    };
  }
}
