import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstashRouteCache } from '#shared/adapters/cache/route-cache.upstash';
import { getConfig } from '#shared/config/config';
import { DependencyUnavailableError } from '#shared/domain/errors';
import { startUpstashRestServer } from '#test/support/upstash-rest-server';
import { routeCacheContract } from './route-cache.contract.ts';

let server: Awaited<ReturnType<typeof startUpstashRestServer>>;
let cache: UpstashRouteCache;

beforeAll(async () => {
  server = await startUpstashRestServer(getConfig().cache.redisUrl!, 'test-token');
  cache = new UpstashRouteCache({ url: server.url, token: 'test-token', timeoutMs: 1000 });
});
afterAll(() => server.close());

describe('UpstashRouteCache over the REST protocol', () => {
  routeCacheContract(() => cache);

  it('goes through the REST endpoint', async () => {
    const before = server.requests();
    await cache.get('tm:any');
    expect(server.requests()).toBe(before + 1);
  });

  it('maps a rejected token to DependencyUnavailableError', async () => {
    const wrong = new UpstashRouteCache({ url: server.url, token: 'wrong', timeoutMs: 1000 });
    await expect(wrong.get('k')).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('maps an unreachable endpoint to DependencyUnavailableError', async () => {
    const dead = new UpstashRouteCache({ url: 'http://127.0.0.1:1', token: 't', timeoutMs: 300 });
    await expect(dead.ping()).rejects.toBeInstanceOf(DependencyUnavailableError);
  });
});
