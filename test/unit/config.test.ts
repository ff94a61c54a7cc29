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

  it('reads rate limits as <per second>/<burst>, with defaults per tenant operation and per role', () => {
    const c = parseConfig({ RATE_LIMIT_TENANT_WRITE: '2.5/10', RATE_LIMIT_RESOLVER: '100/100' });
    expect(c.rateLimits).toEqual({
      enabled: true,
      tenant: {
        read: { perSecond: 2000, burst: 4000 },
        write: { perSecond: 2.5, burst: 10 },
        audit: { perSecond: 20, burst: 40 },
      },
      role: {
        resolver: { perSecond: 100, burst: 100 },
        writer: { perSecond: 200, burst: 400 },
        admin: { perSecond: 200, burst: 400 },
      },
    });
    for (const bad of ['10', '10/0', '0/10', 'ten/20', '-1/5']) {
      expect(() => parseConfig({ RATE_LIMIT_TENANT_READ: bad }), bad).toThrow(/RATE_LIMIT_TENANT_READ/);
    }
  });

  it('needs token hash keys of at least 32 characters and never names the value', () => {
    expect(
      parseConfig({ TOKEN_HASH_KEY: `${'a'.repeat(32)},${'b'.repeat(40)}` }).auth.tokenHashKey,
    ).toBeDefined();
    const err = (() => {
      try {
        parseConfig({ TOKEN_HASH_KEY: 'hunter2-short' });
      } catch (e) {
        return String(e);
      }
      return '';
    })();
    expect(err).toMatch(/TOKEN_HASH_KEY: each comma-separated key must be at least 32 characters/);
    expect(err).not.toContain('hunter2');
  });
});
