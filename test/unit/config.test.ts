import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '#shared/config/config';

describe('parseConfig', () => {
  it('gives working local defaults for an empty environment', () => {
    const c = parseConfig({});
    expect(c.cache).toMatchObject({
      backend: 'redis',
      positiveTtlMs: 60_000,
      negativeTtlMs: 10_000,
      commandTimeoutMs: 50,
      memoryTtlMs: 0,
    });
    expect(c.database).toMatchObject({ connectTimeoutMs: 1000, poolMax: 10 });
    expect(c.metrics.backend).toBe('emf');
  });

  it('turns TLS on for rediss:// URLs', () => {
    expect(parseConfig({ REDIS_URL: 'rediss://cache.example.com:6379' }).cache.redisTls).toBe(true);
    expect(parseConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).cache.redisTls).toBe(false);
  });

  it('reads TTLs in seconds and keeps them in milliseconds', () => {
    const c = parseConfig({ CACHE_POSITIVE_TTL_SECONDS: '30', CACHE_NEGATIVE_TTL_SECONDS: '5' });
    expect(c.cache).toMatchObject({ positiveTtlMs: 30_000, negativeTtlMs: 5_000 });
  });

  it('names every bad setting', () => {
    expect(() => parseConfig({ CACHE_POSITIVE_TTL_SECONDS: 'soon', LOG_LEVEL: 'LOUD' })).toThrow(
      /CACHE_POSITIVE_TTL_SECONDS.*LOG_LEVEL|LOG_LEVEL.*CACHE_POSITIVE_TTL_SECONDS/,
    );
  });

  it('requires the Upstash URL and token with the upstash backend', () => {
    expect(() => parseConfig({ CACHE_BACKEND: 'upstash' })).toThrow(ConfigError);
  });
});
