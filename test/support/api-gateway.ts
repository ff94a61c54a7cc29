import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { lambdaContext } from '../../scripts/local/api-gateway-event.ts';

export interface EventInput {
  method?: string;
  path: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  body?: unknown;
  rawBody?: string;
}

/** An API Gateway REST proxy event, as the real API (and the local runner) delivers it. */
export const apiEvent = ({
  method = 'GET',
  path,
  query,
  headers = {},
  body,
  rawBody,
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
    } as APIGatewayProxyEvent['requestContext'],
  };
};

export type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export const invoke = async (handler: Handler, input: EventInput) => {
  const res = await handler(apiEvent(input), lambdaContext('test'));
  return {
    status: res.statusCode,
    headers: res.headers ?? {},
    body: JSON.parse(res.body) as Record<string, any>,
  };
};
