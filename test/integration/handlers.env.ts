// Imported first (a bare import) by handlers.test.ts: the configuration is parsed once, on first use.
// Production's 50 ms Redis command timeout is a fail-fast budget for a Lambda beside ElastiCache; on a
// loaded CI machine sharing one Redis with other suites a healthy ping can take longer, and the readiness
// check would call the cache unhealthy. Half a second still fails a Redis that is down or hangs, within the
// readiness deadline (800 ms).
process.env.REDIS_COMMAND_TIMEOUT_MS = '500';
