import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { type Principal, toAuthorizerContext } from '#shared/domain/auth';
import { lambdaContext } from '../../scripts/local/api-gateway-event.ts';

/**
 * The caller handler tests act as unless they say otherwise: an all-tenant admin, as the authorizer
 * would describe it (without a token id, so no per-token bucket: only the tenant's).
 */
export const TEST_ADMIN: Principal = {
  name: 'test-admin',
  role: 'admin',
  tenants: '*',
  tokenId: null,
  expiresAt: null,
};

/** A principal as the authorizer would pass it for a token (id and expiry included). */
export const tokenPrincipal = (p: Partial<Principal> & Pick<Principal, 'role' | 'tenants'>): Principal => ({
  name: 'test-token',
  tokenId: 'abcdefghijklmnop',
  expiresAt: Date.now() + 3_600_000,
  ...p,
});

/** `event.requestContext.authorizer` as API Gateway fills it from the Lambda authorizer's answer. */
export const authorizerContext = (p: Principal): Record<string, string> => ({
  principalId: p.name,
  ...toAuthorizerContext(p),
});

export interface EventInput {
  method?: string;
  path: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  body?: unknown;
  rawBody?: string;
  /** Who calls (default TEST_ADMIN); null: no authorizer context at all. */
  auth?: Principal | null;
}

/** An API Gateway REST proxy event, as the real API (and the local runner) delivers it. */
export const apiEvent = ({
  method = 'GET',
  path,
  query,
  headers = {},
  body,
  rawBody,
  auth = TEST_ADMIN,
}: EventInput): APIGatewayProxyEvent => {
  const entries = Object.entries(query ?? {});
  const single = Object.fromEntries(entries.map(([k, v]) => [k, Array.isArray(v) ? v.at(-1)! : v]));
  const multi = Object.fromEntries(entries.map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
  const payload = rawBody ?? (body === undefined ? null : JSON.stringify(body));
  const allHeaders = payload !== null ? { 'Content-Type': 'application/json', ...headers } : headers;
  return {
    resource: path,
    path,
    httpMethod: method,
    headers: allHeaders,
    multiValueHeaders: Object.fromEntries(Object.entries(allHeaders).map(([k, v]) => [k, [v]])),
    queryStringParameters: entries.length ? single : null,
    multiValueQueryStringParameters: entries.length ? multi : null,
    pathParameters: null,
    stageVariables: null,
    body: payload,
    isBase64Encoded: false,
    requestContext: {
      requestId: 'test',
      stage: 'test',
      resourcePath: path,
      httpMethod: method,
      authorizer: auth ? authorizerContext(auth) : null,
    } as APIGatewayProxyEvent['requestContext'],
  };
};

export type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export const invoke = async (handler: Handler, input: EventInput) => {
  const res = await handler(apiEvent(input), lambdaContext('test'));
  return {
    status: res.statusCode,
    headers: res.headers ?? {},
    body: (res.body ? JSON.parse(res.body) : {}) as Record<string, any>,
  };
};
