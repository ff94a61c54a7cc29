import { describe, expect, it } from 'vitest';
import { functionManifest } from '#functions/function-manifest';
import {
  ConfigError,
  checkBindings,
  LOCAL_DEFAULTS,
  parseConfig,
  requireSetting,
} from '#shared/config/config';

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

describe('parseConfig in a Lambda (AWS_LAMBDA_FUNCTION_NAME set)', () => {
  const LAMBDA = { AWS_LAMBDA_FUNCTION_NAME: 'traffic-manager-dev-upsertRoute' };

  it('takes no local default for any endpoint', () => {
    const c = parseConfig(LAMBDA);

    expect(c.database.url).toBeUndefined();
    expect(c.cache.redisUrl).toBeUndefined();
    expect(c.kafka.brokers).toBeUndefined();
    expect(c.mongo.url).toBeUndefined();
    expect(c.idempotency.table).toBeUndefined();
    expect(c.failure.destination).toBeUndefined();
    expect(c.auth.tokenHashKey).toBeUndefined();
    expect(() => requireSetting(c.cache.redisUrl, 'REDIS_URL')).toThrow(/REDIS_URL is not set/);
  });

  it('keeps the settings that are not endpoints at their defaults', () => {
    const c = parseConfig(LAMBDA);

    expect(c.cache).toMatchObject({ backend: 'redis', commandTimeoutMs: 50, redisTls: false });
    expect(c.kafka.topic).toBe('route-events');
  });

  it('fails with one ConfigError naming every setting the bindings lack', () => {
    const err = (() => {
      try {
        checkBindings(
          { ...functionManifest.upsertRoute, kafkaProducer: functionManifest.outboxRelay.kafkaProducer! },
          LAMBDA,
        );
      } catch (e) {
        return e;
      }
      return undefined;
    })();

    expect(err).toBeInstanceOf(ConfigError);
    const message = String(err);
    for (const name of [
      'DATABASE_HOST',
      'DATABASE_SECRET_ARN',
      'REDIS_URL',
      'REDIS_AUTH_SECRET_ARN',
      'MSK_CLUSTER_ARN',
      'ROUTE_EVENTS_TOPIC',
      'IDEMPOTENCY_TABLE',
    ]) {
      expect(message).toContain(name);
    }
    expect(message).toMatch(/database needs DATABASE_HOST, .*\(or DATABASE_URL, DATABASE_SSL\)/);
    expect(message).not.toMatch(/MONGO_URL|FAILURE_QUEUE_URL|TOKEN_HASH_KEY/);
  });

  it('names only what is missing when part of the environment is there', () => {
    const env = {
      ...LAMBDA,
      DATABASE_URL: 'postgres://db.internal:5432/traffic_manager',
      DATABASE_SSL: 'require',
      TOKEN_HASH_KEY_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:k',
    };

    expect(() => checkBindings(functionManifest.tokens, env)).toThrow(
      /missing settings for this function's bindings: cache needs CACHE_BACKEND, REDIS_URL, REDIS_AUTH_SECRET_ARN \(or CACHE_BACKEND, REDIS_URL; or CACHE_BACKEND, UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN\)$/,
    );
  });

  it('accepts the AWS bindings and the LocalStack ones', () => {
    const aws = {
      ...LAMBDA,
      DATABASE_HOST: 'proxy.internal',
      DATABASE_PORT: '5432',
      DATABASE_NAME: 'traffic_manager',
      DATABASE_SECRET_ARN: 'arn:db',
      DATABASE_SSL: 'verify-full',
      DATABASE_POOL_MAX: '2',
      CACHE_BACKEND: 'redis',
      REDIS_URL: 'rediss://cache.internal:6380',
      REDIS_AUTH_SECRET_ARN: 'arn:cache',
      KAFKA_AUTH: 'iam',
      KAFKA_TLS: 'true',
      MSK_CLUSTER_ARN: 'arn:aws:kafka:eu-west-1:1:cluster/c/u',
      ROUTE_EVENTS_TOPIC: 'route-events',
      IDEMPOTENCY_TABLE: 'idempotency',
    };
    const localstack = {
      ...LAMBDA,
      DATABASE_URL: 'postgres://postgres@postgres:5432/traffic_manager',
      DATABASE_SSL: 'disable',
      CACHE_BACKEND: 'redis',
      REDIS_URL: 'redis://redis:6379',
      KAFKA_BROKERS: 'kafka:29092',
      KAFKA_AUTH: 'none',
      ROUTE_EVENTS_TOPIC: 'route-events',
      IDEMPOTENCY_TABLE: 'idempotency',
    };

    expect(() => checkBindings(functionManifest.upsertRoute, aws)).not.toThrow();
    expect(() => checkBindings(functionManifest.upsertRoute, localstack)).not.toThrow();
    expect(parseConfig(aws).cache.redisTls).toBe(true);
  });

  it('refuses the Prometheus backend, which Lambda bundles do not carry, naming the ones that work', () => {
    expect(() => parseConfig({ ...LAMBDA, METRICS_BACKEND: 'prometheus' })).toThrow(
      /METRICS_BACKEND=prometheus is for the local runner; in Lambda use emf or none/,
    );
    expect(parseConfig({ METRICS_BACKEND: 'prometheus' }).metrics.backend).toBe('prometheus');
  });

  it('leaves events to the relay in Lambda, whose write functions have no Kafka binding', () => {
    expect(parseConfig(LAMBDA).kafka.eventPublisher).toBe('relay');
    expect(() => parseConfig({ ...LAMBDA, EVENT_PUBLISHER: 'writer' })).toThrow(
      /EVENT_PUBLISHER=writer is for the local runner/,
    );
    expect(parseConfig({}).kafka.eventPublisher).toBe('writer');
    expect(parseConfig({ EVENT_PUBLISHER: 'relay' }).kafka.eventPublisher).toBe('relay');
  });

  it('always publishes before answering: a frozen container could not finish a publish behind the answer', () => {
    expect(() => parseConfig({ ...LAMBDA, PUBLISH_BEFORE_ANSWER: 'false' })).toThrow(
      /PUBLISH_BEFORE_ANSWER=false is for the local runner/,
    );
    expect(parseConfig(LAMBDA).kafka.publishBeforeAnswer).toBe(true);
    expect(parseConfig({ PUBLISH_BEFORE_ANSWER: 'false' }).kafka.publishBeforeAnswer).toBe(false);
  });
});

describe('parseConfig outside Lambda', () => {
  it('keeps the local defaults for every endpoint', () => {
    const c = parseConfig({});

    expect(c.database.url).toBe(LOCAL_DEFAULTS.databaseUrl);
    expect(c.cache.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.kafka.brokers).toEqual(['127.0.0.1:19092']);
    expect(c.mongo.url).toBe('mongodb://127.0.0.1:27027');
    expect(c.idempotency.table).toBe('traffic-manager-idempotency');
    expect(c.failure.destination).toBe('postgres');
  });

  it('looks brokers up by cluster ARN when one is given instead of defaulting them', () => {
    expect(
      parseConfig({ MSK_CLUSTER_ARN: 'arn:aws:kafka:eu-west-1:1:cluster/c/u' }).kafka.brokers,
    ).toBeUndefined();
  });

  it('checks no bindings (the defaults stand in)', () => {
    expect(() => checkBindings(functionManifest.upsertRoute, {})).not.toThrow();
  });
});
