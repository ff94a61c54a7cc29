import { Redis } from '@upstash/redis';
import { type CacheEntry, decodeEntry, encodeEntry } from '#shared/domain/cache-entry';
import { DependencyUnavailableError } from '#shared/domain/errors';
import type { RouteCache } from '#shared/ports/route-cache.port';
import { PUT_IF_NEWER_LUA } from './put-if-newer.lua.ts';

export interface UpstashOptions {
  readonly url: string;
  readonly token: string;
  readonly timeoutMs: number;
}

/** The same cache contract over Upstash's HTTPS REST API (for deployments without a VPC Redis). */
export class UpstashRouteCache implements RouteCache {
  readonly name = 'upstash';
  private readonly redis: Redis;

  constructor(options: UpstashOptions) {
    this.redis = new Redis({
      url: options.url,
      token: options.token,
      automaticDeserialization: false,
      retry: { retries: 0 },
      enableTelemetry: false,
      signal: () => AbortSignal.timeout(options.timeoutMs),
    });
  }

  private unavailable(err: unknown): never {
    throw new DependencyUnavailableError('cache', 'cache is unavailable', { cause: err });
  }

  async get(key: string): Promise<CacheEntry | null> {
    const raw = await this.redis.get<string>(key).catch((err) => this.unavailable(err));
    return raw === null || raw === undefined ? null : decodeEntry(String(raw));
  }

  async putIfNewer(key: string, entry: CacheEntry, ttlMs: number): Promise<boolean> {
    const stored = await this.redis
      .eval(PUT_IF_NEWER_LUA, [key], [String(entry.revision), encodeEntry(entry), String(ttlMs)])
      .catch((err) => this.unavailable(err));
    return Number(stored) === 1;
  }

  async ping(): Promise<void> {
    await this.redis.ping().catch((err) => this.unavailable(err));
  }
}
