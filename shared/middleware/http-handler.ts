import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { getConfig } from '#shared/config/config';
import {
  authorizationValuesOf,
  type Permission,
  type Principal,
  principalFromContext,
  roleAllows,
} from '#shared/domain/auth';
import {
  DependencyUnavailableError,
  ForbiddenError,
  MalformedRequestError,
  PayloadTooLargeError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
} from '#shared/domain/errors';
import { currentCorrelationId, logger, runWithCorrelationId } from '#shared/observability/logger';
import { appMetrics } from '#shared/observability/metrics';
import { tracing } from '#shared/observability/tracer';
import { CORRELATION_HEADER, pickCorrelationId } from './correlation-id.ts';
import { mapError } from './error-mapper.ts';
import { type HttpEvent, type HttpRequest, type HttpResult, type JsonResponse, setOwn } from './http.ts';

type RouteFn = (req: HttpRequest) => Promise<JsonResponse>;
interface State {
  req?: HttpRequest;
  response?: JsonResponse;
}

const lowerCase = (headers: HttpEvent['headers']): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {};
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    setOwn(out, name.toLowerCase(), headers[name]);
  }
  return out;
};

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

/**
 * The caller as the authorizer (API Gateway's, or the local runner's) established it, checked again
 * here so a route can never run without one: no principal is a 401, an expired one too (the authorizer's
 * cache may outlive a token's expiry), a role without the permission a 403.
 */
const principalFor = (event: HttpEvent, access: Permission | 'public'): Principal | null => {
  if (access === 'public') return null;
  const principal = principalFromContext(event.requestContext?.authorizer);
  if (!principal) throw new UnauthorizedError('missing');
  if (principal.expiresAt !== null && principal.expiresAt <= Date.now())
    throw new UnauthorizedError('expired');
  if (!roleAllows(principal.role, access)) {
    throw new ForbiddenError(`a ${principal.role} token may not call this operation`);
  }
  return principal;
};

const toRequest = (
  event: HttpEvent,
  context: Context,
  correlationId: string,
  maxBodyBytes: number,
  principal: Principal | null,
): HttpRequest => {
  const headers = lowerCase(event.headers);
  let body = event.body ?? null;
  if (body !== null) {
    const bytes = event.isBase64Encoded ? Math.floor((body.length * 3) / 4) : Buffer.byteLength(body);
    if (bytes > maxBodyBytes) throw new PayloadTooLargeError(`request body exceeds ${maxBodyBytes} bytes`);
    if (event.isBase64Encoded) body = Buffer.from(body, 'base64').toString('utf8');
    const type = headers['content-type'];
    if (body.length > 0 && type !== undefined && !JSON_TYPE.test(type)) {
      throw new UnsupportedMediaTypeError('content-type must be application/json');
    }
  }
  return {
    method: event.httpMethod,
    path: event.path,
    resource: event.resource,
    query: event.queryStringParameters ?? {},
    multiQuery: event.multiValueQueryStringParameters ?? {},
    headers,
    body,
    correlationId,
    principal,
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
  };
};

/** The request body as JSON; a missing or malformed body is a 400 naming the problem. */
export const jsonBody = (req: HttpRequest): unknown => {
  if (req.body === null || req.body.trim() === '')
    throw new MalformedRequestError('request body is required');
  try {
    return JSON.parse(req.body);
  } catch {
    throw new MalformedRequestError('request body is not valid JSON');
  }
};

const toResult = (res: JsonResponse, correlationId: string): HttpResult =>
  res.status === 304
    ? // Not Modified has no body (RFC 9110 §15.4.5), so no content type either.
      {
        statusCode: 304,
        headers: { 'cache-control': 'no-store', [CORRELATION_HEADER]: correlationId, ...res.headers },
        body: '',
      }
    : {
        statusCode: res.status,
        headers: {
          'content-type': 'application/json',
          'cache-control': 'no-store',
          [CORRELATION_HEADER]: correlationId,
          ...res.headers,
        },
        body: JSON.stringify(res.body),
      };

/**
 * The one middy chain for API Gateway (REST, proxy) events: the caller's principal and role (unless the
 * function's routes are public), request parsing and limits, then the route function, then typed errors
 * mapped to JSON, correlation id on every response and log line. `access` is what the function's routes
 * require (`accessOf` in functions/route-table.ts). `options.maxBodyBytes` replaces MAX_BODY_BYTES for
 * a function whose bodies are larger by design (bulk changes).
 */
export const httpHandler = (
  access: Permission | 'public',
  fn: RouteFn,
  options: { readonly maxBodyBytes?: number } = {},
) => {
  const { http: configured, exposeErrorDetails } = getConfig();
  const http = { maxBodyBytes: options.maxBodyBytes ?? configured.maxBodyBytes };
  // No early-timeout race: every dependency call has its own timeout far inside the function's, and the
  // race cost a timer and three promises per request.
  const chain = middy<HttpEvent, HttpResult, Error, Context & State>({ timeoutEarlyInMillis: 0 })
    .use(tracing.middleware ? [tracing.middleware] : [])
    .use({
      before: (request) => {
        const correlationId = currentCorrelationId() ?? pickCorrelationId(request.event.headers);
        // The authorizer refuses these (401); a cached authorizer answer or auth off must not let one through.
        if (authorizationValuesOf(request.event).length > 1) {
          throw new MalformedRequestError('send one Authorization header, not several');
        }
        const principal = principalFor(request.event, access);
        request.context.req = toRequest(
          request.event,
          request.context,
          correlationId,
          http.maxBodyBytes,
          principal,
        );
      },
      onError: (request) => {
        const correlationId = currentCorrelationId() ?? pickCorrelationId(request.event.headers);
        const { response, unexpected } = mapError(request.error, { exposeDetails: exposeErrorDetails });
        if (unexpected) logger.error('unhandled error', request.error as Error);
        else if (request.error instanceof DependencyUnavailableError) {
          logger.warn('dependency unavailable', { error: response.body });
        } else if (response.status >= 500) {
          // A typed 5xx that is not an outage (e.g. PackagedFileError): the message, its cause and stack.
          const err = request.error as Error;
          logger.error(err.message, err);
        }
        request.response = toResult(response, correlationId);
      },
    })
    .handler(async (_event, context) => toResult(await fn(context.req!), context.req!.correlationId));

  return async (event: HttpEvent, context: Context): Promise<HttpResult> => {
    const correlationId = pickCorrelationId(event.headers);
    try {
      return await runWithCorrelationId(correlationId, () => chain(event, context));
    } finally {
      appMetrics.flush();
    }
  };
};
