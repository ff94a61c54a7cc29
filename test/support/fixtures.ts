import { randomUUID } from 'node:crypto';
import type { RouteKey } from '#shared/domain/route';

/** A route key no other test uses: tests share one database and one Redis without interfering. */
export const uniqueRouteKey = (overrides: Partial<RouteKey> = {}): RouteKey => ({
  tenant: `t-${randomUUID().slice(0, 13)}`,
  service: 'payments',
  env: 'prod',
  version: 'v2',
  ...overrides,
});

export const deferred = <T = void>() => {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
};
