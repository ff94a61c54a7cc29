import {
  type Dependency,
  DependencyUnavailableError,
  ValidationError,
  VersionInSplitError,
} from '#shared/domain/errors';

interface PgLikeError {
  code?: string;
  constraint?: string;
  message?: string;
  detail?: string;
  hint?: string;
}

/** Raised by the split guard trigger (migration 1763830000000): DETAIL names the split, HINT the version. */
const VERSION_IN_SPLIT = 'TM409';

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
  const { code, constraint, message, detail, hint } = (err ?? {}) as PgLikeError;
  if (code === VERSION_IN_SPLIT)
    throw new VersionInSplitError(message ?? 'version is in a split', detail ?? '', hint ?? '');
  if (code === '23514' && constraint) {
    const field = constraint.split('_')[1] ?? 'body';
    throw new ValidationError([{ field, rule: 'format', message: `violates ${constraint}` }]);
  }
  throw err;
};
