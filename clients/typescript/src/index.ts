export type * from './api.ts';
export { type ClientOptions, type ResolvedRoute, TrafficManagerClient, type WriteOptions } from './client.ts';
export * from './errors.ts';
export type { ClientEvent, ClientStats } from './events.ts';
export { DEFAULT_RESOLVE_CACHE, type ResolveCachePolicy } from './resolve-cache.ts';
export { DEFAULT_RETRY, type RetryPolicy } from './retry.ts';
export type { CallOptions } from './transport.ts';
