import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import { setOwn } from '#shared/middleware/http';

/** Headers and query parameters as API Gateway hands them over (single- and multi-value maps). */
const requestParts = (req: IncomingMessage, url: URL) => {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    setOwn(headers, name, value);
    if (Object.hasOwn(multiValueHeaders, name)) multiValueHeaders[name]!.push(value);
    else setOwn(multiValueHeaders, name, [value]);
  }
  let query: Record<string, string> | null = null;
  let multiQuery: Record<string, string[]> | null = null;
  if (url.search !== '') {
    for (const [k, v] of url.searchParams) {
      query ??= {};
      multiQuery ??= {};
      setOwn(query, k, v); // API Gateway keeps the last value in the single-value map
      if (Object.hasOwn(multiQuery, k)) multiQuery[k]!.push(v);
      else setOwn(multiQuery, k, [v]);
    }
  }
  return {
    headers,
    multiValueHeaders,
    queryStringParameters: query,
    multiValueQueryStringParameters: multiQuery,
  };
};

/** Turns a Node request into the API Gateway REST (proxy) event the Lambda handlers receive. */
export const toApiGatewayEvent = (
  req: IncomingMessage,
  url: URL,
  resource: string,
  body: string | null,
): APIGatewayProxyEvent => {
  const requestId = randomUUID();
  return {
    resource,
    path: url.pathname,
    httpMethod: req.method ?? 'GET',
    ...requestParts(req, url),
    pathParameters: null,
    stageVariables: null,
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      authorizer: null,
      protocol: `HTTP/${req.httpVersion}`,
      httpMethod: req.method ?? 'GET',
      identity: {
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      } as APIGatewayProxyEvent['requestContext']['identity'],
      path: url.pathname,
      stage: 'local',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: resource,
    },
  };
};

/** The ARN API Gateway gives a method, for the local API `local` and stage `local`. */
export const localMethodArn = (method: string, resource: string): string =>
  `arn:aws:execute-api:local:000000000000:local/local/${method}${resource}`;

/** The event API Gateway sends a REQUEST Lambda authorizer for a call to `resource`. */
export const toAuthorizerEvent = (
  req: IncomingMessage,
  url: URL,
  resource: string,
): APIGatewayRequestAuthorizerEvent => {
  const method = req.method ?? 'GET';
  return {
    type: 'REQUEST',
    methodArn: localMethodArn(method, resource),
    resource,
    path: url.pathname,
    httpMethod: method,
    ...requestParts(req, url),
    pathParameters: null,
    stageVariables: null,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      httpMethod: method,
      path: url.pathname,
      stage: 'local',
      requestId: randomUUID(),
      resourceId: 'local',
      resourcePath: resource,
    } as APIGatewayRequestAuthorizerEvent['requestContext'],
  };
};

const noop = () => {};

export const lambdaContext = (functionName: string, timeoutMs = 30_000): Context => {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: noop,
    fail: noop,
    succeed: noop,
  };
};
