import { ValidationError } from '#shared/domain/errors';
import type { IdempotencyStore, Json } from '#shared/ports/idempotency.port';
import { type HttpRequest, type JsonResponse, json } from './http.ts';

const KEY = /^[A-Za-z0-9._:-]{1,128}$/;

const keyOf = (req: HttpRequest): string | undefined => {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (!KEY.test(key)) {
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
 * Honours an `Idempotency-Key` header: the first request with a key runs `fn` and its response is
 * stored; a retry with the same key (same path and author) gets the stored response back with
 * `Idempotent-Replayed: true`. Without the header, `fn` simply runs.
 */
export const withIdempotencyKey = async (
  store: IdempotencyStore,
  req: HttpRequest,
  scope: { author: string; payload: Json },
  fn: () => Promise<JsonResponse>,
): Promise<JsonResponse> => {
  const key = keyOf(req);
  if (!key) return fn();
  const { value, replayed } = await store.run(
    `${req.resource}|${scope.author}|${key}`,
    scope.payload,
    async () => {
      const res = await fn();
      return { status: res.status, body: res.body as Json };
    },
    { remainingTimeMs: req.remainingTimeMs },
  );
  return json(value.status, value.body, replayed ? { 'idempotent-replayed': 'true' } : undefined);
};
