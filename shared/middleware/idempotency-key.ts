import type { Principal } from '#shared/domain/auth';
import { ValidationError } from '#shared/domain/errors';
import type { IdempotencyStore, Json } from '#shared/ports/idempotency.port';
import { type HttpRequest, type JsonResponse, json } from './http.ts';

export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

const keyOf = (req: HttpRequest): string | undefined => {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new ValidationError([
      {
        field: 'Idempotency-Key',
        rule: 'format',
        message: 'must be 1-128 characters of letters, digits and . _ : -',
      },
    ]);
  }
  return key;
};

/**
 * Whose key it is: the token (its id, never its principal's name, which another tenant's token may share)
 * and the tenant written to. Only the auth-off principal and tests' callers have no token id; all of
 * them are named by the runner, so their names cannot be chosen by a caller.
 */
export const idempotencyScopeOf = (principal: Principal, tenant: string): string =>
  `${principal.tokenId === null ? `principal:${principal.name}` : `token:${principal.tokenId}`}|${tenant}`;

/**
 * Honours an `Idempotency-Key` header: the first request with a key runs `fn` and its response is
 * stored; a retry with the same key (same path, token and tenant) gets the stored response back with
 * `Idempotent-Replayed: true`. A key used by another token is another key. Without the header, `fn`
 * simply runs.
 */
export const withIdempotencyKey = async (
  store: IdempotencyStore,
  req: HttpRequest,
  scope: { principal: Principal; tenant: string; payload: Json },
  fn: () => Promise<JsonResponse>,
): Promise<JsonResponse> => {
  const key = keyOf(req);
  if (!key) return fn();
  const { value, replayed } = await store.run(
    `${req.resource}|${idempotencyScopeOf(scope.principal, scope.tenant)}|${key}`,
    scope.payload,
    async () => {
      const res = await fn();
      return { status: res.status, body: res.body as Json };
    },
    { remainingTimeMs: req.remainingTimeMs },
  );
  return json(value.status, value.body, replayed ? { 'idempotent-replayed': 'true' } : undefined);
};
