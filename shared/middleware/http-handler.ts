import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { getConfig } from '#shared/config/config';
import {
  MalformedRequestError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from '#shared/domain/errors';
import { currentCorrelationId, logger, runWithCorrelationId } from '#shared/observability/logger';
import { appMetrics } from '#shared/observability/metrics';
import { tracer } from '#shared/observability/tracer';
import { CORRELATION_HEADER, pickCorrelationId } from './correlation-id.ts';
import { mapError } from './error-mapper.ts';
import type { HttpEvent, HttpRequest, HttpResult, JsonResponse } from './http.ts';

type RouteFn = (req: HttpRequest) => Promise<JsonResponse>;
interface State {
  req?: HttpRequest;
  response?: JsonResponse;
}

const lowerCase = (headers: HttpEvent['headers']): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = v;
  return out;
};

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

const toRequest = (
  event: HttpEvent,
  context: Context,
  correlationId: string,
  maxBodyBytes: number,
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

const toResult = (res: JsonResponse, correlationId: string): HttpResult => ({
  statusCode: res.status,
  headers: {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    [CORRELATION_HEADER]: correlationId,
    ...res.headers,
  },
  body: JSON.stringify(res.body),
});

/**
 * The one middy chain for API Gateway (REST, proxy) events: request parsing and limits, then the
 * route function, then typed errors mapped to JSON, correlation id on every response and log line.
 */
export const httpHandler = (fn: RouteFn) => {
  const { http, exposeErrorDetails } = getConfig();
  const chain = middy<HttpEvent, HttpResult, Error, Context & State>()
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use({
      before: (request) => {
        const correlationId = currentCorrelationId() ?? pickCorrelationId(request.event.headers);
        request.context.req = toRequest(request.event, request.context, correlationId, http.maxBodyBytes);
      },
      onError: (request) => {
        const correlationId = currentCorrelationId() ?? pickCorrelationId(request.event.headers);
        const { response, unexpected } = mapError(request.error, { exposeDetails: exposeErrorDetails });
        if (unexpected) logger.error('unhandled error', request.error as Error);
        else if (response.status >= 500) logger.warn('dependency unavailable', { error: response.body });
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
