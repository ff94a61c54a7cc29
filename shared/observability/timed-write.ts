import { AppError } from '#shared/domain/errors';
import { appMetrics, type WriteOperation } from './metrics.ts';

/** Counts a write and its latency; a client error (4xx) is not a write failure. */
export const timedWrite = async <T>(operation: WriteOperation, fn: () => Promise<T>): Promise<T> => {
  const started = performance.now();
  try {
    const result = await fn();
    appMetrics.write(operation, true, (performance.now() - started) / 1000);
    return result;
  } catch (err) {
    const clientError = err instanceof AppError && err.status < 500;
    if (!clientError) appMetrics.write(operation, false, (performance.now() - started) / 1000);
    throw err;
  }
};
