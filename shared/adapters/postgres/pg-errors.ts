import { type Dependency, DependencyUnavailableError, ValidationError } from '#shared/domain/errors';

interface PgLikeError {
  code?: string;
  constraint?: string;
  message?: string;
}

// SQLSTATE classes that mean "the database is unavailable", not "the request is wrong".
const UNAVAILABLE_CLASSES = ['08', '53', '57', '58'];
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

export const isUnavailable = (err: unknown): boolean => {
  if (!(err instanceof Error)) return false;
  const { code, message = '' } = err as PgLikeError;
  if (code && NETWORK_CODES.has(code)) return true;
  if (code && code.length === 5 && UNAVAILABLE_CLASSES.includes(code.slice(0, 2))) return true;
  if (code === '40001' || code === '40P01') return true; // serialization / deadlock: safe to retry
  return /timeout|terminated|connect|Connection/i.test(message) && !code;
};

/** Maps a driver error to the domain: unavailable → 503; a CHECK violation → 400; anything else rethrown. */
export const mapPgError = (err: unknown, dependency: Dependency = 'database'): never => {
  if (isUnavailable(err)) {
    throw new DependencyUnavailableError(dependency, `${dependency} is unavailable`, { cause: err });
  }
  const { code, constraint } = (err ?? {}) as PgLikeError;
  if (code === '23514' && constraint) {
    const field = constraint.split('_')[1] ?? 'body';
    throw new ValidationError([{ field, rule: 'format', message: `violates ${constraint}` }]);
  }
  throw err;
};
