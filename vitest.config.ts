import { defineConfig } from 'vitest/config';

export const TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/traffic_manager_test';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    env: {
      STAGE: 'test',
      DATABASE_URL: process.env.TEST_DATABASE_URL ?? TEST_DATABASE_URL,
      REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
      METRICS_BACKEND: 'none',
      LOG_LEVEL: 'ERROR',
      // The HMAC key API token hashes are made with, shared by the test process and the runners it starts.
      TOKEN_HASH_KEY: 'test-token-hash-key-0123456789abcdef0123456789',
    },
  },
});
