import { Redis, type RedisOptions } from 'ioredis';
import { readSecretField } from '#shared/adapters/aws/secrets';
import { ENV } from '#shared/config/bindings';
import { type Config, requireSetting } from '#shared/config/config';
import { type CacheEntry, decodeEntry, encodeEntry } from '#shared/domain/cache-entry';
import { DependencyUnavailableError } from '#shared/domain/errors';
import type { RouteCache } from '#shared/ports/route-cache.port';
import { PUT_IF_NEWER_LUA } from './put-if-newer.lua.ts';

type RedisWithScript = Redis & {
  tmPutIfNewer(key: string, revision: number, entry: string, ttlMs: number): Promise<number>;
};

/**
 * Fail-fast client: no offline queue (a command while disconnected fails at once instead of piling
 * up), a command timeout in tens of milliseconds, and background reconnects with capped backoff.
 */
export const createRedisClient = (cache: Config['cache'], extra: RedisOptions = {}): Redis => {
  const client = new Redis(requireSetting(cache.redisUrl, ENV.cache.redisUrl), {
    ...(cache.redisTls ? { tls: {} } : {}),
    ...(cache.redisPassword ? { password: cache.redisPassword } : {}),
    commandTimeout: cache.commandTimeoutMs,
    connectTimeout: Math.max(500, cache.commandTimeoutMs * 10),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: cache.autoPipelining,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    // With the auth token in Secrets Manager, connect only once it has been read.
    lazyConnect: cache.redisAuthSecretArn !== undefined,
    ...extra,
  });
  client.defineCommand('tmPutIfNewer', { numberOfKeys: 1, lua: PUT_IF_NEWER_LUA });
  if (cache.redisAuthSecretArn) {
    // Until this resolves the client is not ready, so resolves fall back to Postgres meanwhile.
    void readSecretField(cache.redisAuthSecretArn, 'password')
      .then((password) => {
        client.options.password = password;
        return client.connect();
      })
      .catch((err: Error) => client.emit('error', err));
  }
  return client;
};

export class RedisRouteCache implements RouteCache {
  readonly name = 'redis';
  private readonly redis: RedisWithScript;

  constructor(redis: Redis) {
    this.redis = redis as RedisWithScript;
  }

  private unavailable(err: unknown): never {
    throw new DependencyUnavailableError('cache', 'cache is unavailable', { cause: err });
  }

  private ensureReady(): void {
    if (this.redis.status !== 'ready') this.unavailable(new Error(`redis status ${this.redis.status}`));
  }

  async get(key: string): Promise<CacheEntry | null> {
    this.ensureReady();
    const raw = await this.redis.get(key).catch((err) => this.unavailable(err));
    return raw === null ? null : decodeEntry(raw);
  }

  async putIfNewer(key: string, entry: CacheEntry, ttlMs: number): Promise<boolean> {
    this.ensureReady();
    const stored = await this.redis
      .tmPutIfNewer(key, entry.revision, encodeEntry(entry), ttlMs)
      .catch((err) => this.unavailable(err));
    return stored === 1;
  }

  async ping(): Promise<void> {
    this.ensureReady();
    await this.redis.ping().catch((err) => this.unavailable(err));
  }
}
