/**
 * Connection failures worth waiting out on a first deploy: RDS Proxy answers before its target is
 * registered (refused or dropped connections, timeouts, "cannot connect now"), for a minute or two after
 * the Stateful stack completes; DocumentDB likewise. A SQL error in a migration, or a refused command, is
 * not one of them: it fails at once.
 */
export const isConnectionError = (err: unknown): boolean => {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  const name = (err as { name?: unknown } | null)?.name;
  return (
    // The MongoDB driver's: no server selectable yet, or the socket failed (DocumentDB starting up).
    name === 'MongoServerSelectionError' ||
    name === 'MongoNetworkError' ||
    name === 'MongoNetworkTimeoutError' ||
    /^08/.test(code) || // SQLSTATE class 08: connection exception
    code === '57P03' || // cannot_connect_now
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(code) ||
    /timeout expired|connection terminated|Connection terminated/i.test(message)
  );
};

/** Runs `work`, again after `delayMs` while it fails to connect, at most `attempts` times in all. */
export const retryConnecting = async <T>(
  work: () => Promise<T>,
  options: { attempts: number; delayMs: number; onRetry?: (err: unknown, attempt: number) => void },
): Promise<T> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= options.attempts || !isConnectionError(err)) throw err;
      options.onRetry?.(err, attempt);
      await new Promise((resolve) => setTimeout(resolve, options.delayMs));
    }
  }
};
