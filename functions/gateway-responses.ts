import { UNAUTHORIZED_MESSAGE } from '#shared/domain/errors';

/** One of API Gateway's own answers, given the handlers' JSON error shape. */
export interface GatewayResponseSpec {
  readonly status: number;
  readonly error: string;
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * What API Gateway answers before a handler runs (the authorizer, throttling, unknown paths), as
 * JSON `{error, message}` like every handler error. The CDK API configures these Gateway Responses;
 * the local runner answers with the same ones where it plays API Gateway's part.
 */
export const gatewayResponses = {
  /** No Authorization header, or the authorizer refused the token. */
  UNAUTHORIZED: {
    status: 401,
    error: 'unauthorized',
    message: UNAUTHORIZED_MESSAGE,
    headers: { 'www-authenticate': 'Bearer realm="traffic-manager"' },
  },
  /** The authorizer's policy does not allow this route for the token's role. */
  ACCESS_DENIED: {
    status: 403,
    error: 'forbidden',
    message: "the token's role does not allow this operation",
  },
  /** The authorizer failed (e.g. the database is unreachable). */
  AUTHORIZER_FAILURE: {
    status: 503,
    error: 'dependency_unavailable',
    message: 'API tokens cannot be checked right now; retry shortly',
    headers: { 'retry-after': '1' },
  },
  AUTHORIZER_CONFIGURATION_ERROR: {
    status: 500,
    error: 'internal_error',
    message: 'the API authorizer is misconfigured',
  },
  /** The stage or method throttle. */
  THROTTLED: {
    status: 429,
    error: 'rate_limited',
    message: 'too many requests to this API; retry shortly',
    headers: { 'retry-after': '1' },
  },
  /** API Gateway's answer to a path no route matches. */
  MISSING_AUTHENTICATION_TOKEN: { status: 404, error: 'not_found', message: 'no route for this path' },
  REQUEST_TOO_LARGE: { status: 413, error: 'payload_too_large', message: 'request body too large' },
  WAF_FILTERED: {
    status: 403,
    error: 'forbidden',
    message: 'request blocked by the web application firewall',
  },
} as const satisfies Record<string, GatewayResponseSpec>;

export type GatewayResponseType = keyof typeof gatewayResponses;

/**
 * Headers every gateway response carries, as API Gateway mapping expressions (not literals). A gateway
 * response may map `method.request.header.*` only when the request matched a method — not for
 * MISSING_AUTHENTICATION_TOKEN (no such method), nor before one is chosen — so the caller's
 * X-Correlation-ID cannot be echoed reliably, and API Gateway could not check it against the handlers'
 * rule anyway. `context.requestId` exists for every request: API Gateway's own answers carry it, and it is
 * the id API Gateway's access logs record.
 */
export const gatewayResponseHeaderMappings = {
  'x-correlation-id': 'context.requestId',
} as const satisfies Record<string, string>;
