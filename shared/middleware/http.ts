import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { Principal } from '#shared/domain/auth';

export type HttpEvent = APIGatewayProxyEvent;
export type HttpResult = APIGatewayProxyResult;

/** What a handler sees: the event reduced to what route handlers need, headers lower-cased. */
export interface HttpRequest {
  readonly method: string;
  readonly path: string;
  /** The route template (API Gateway `resource`), e.g. `/api/v1/routes/activate`. */
  readonly resource: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly multiQuery: Readonly<Record<string, readonly string[] | undefined>>;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string | null;
  readonly correlationId: string;
  /** The caller, from the authorizer's context; null on public routes. */
  readonly principal: Principal | null;
  /** Time left before the Lambda (or the local runner's emulated) deadline. */
  readonly remainingTimeMs: () => number;
}

export interface JsonResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

export const json = (status: number, body: unknown, headers?: Record<string, string>): JsonResponse => ({
  status,
  body,
  ...(headers ? { headers } : {}),
});

/**
 * Sets `target[key]` as an own property, even for a key like `__proto__` (which plain assignment would
 * take as the object's prototype): for maps built from request headers and query parameters.
 */
export const setOwn = <T>(target: Record<string, T>, key: string, value: T): void => {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true });
  else target[key] = value;
};
