import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayAuthorizerResult, APIGatewayProxyResult } from 'aws-lambda';
import { ANONYMOUS_ADMIN, toAuthorizerContext } from '#shared/domain/auth';
import { toApiGatewayEvent, toAuthorizerEvent } from '../local/api-gateway-event.ts';
import { policyAllows } from '../local/local-authorizer.ts';
import type { ExtraRoute } from '../local/metrics-endpoint.ts';
import { answerClientError, answerOnSocket, listenOn } from '../local/socket-answer.ts';
import type { StackArtifact } from './assembly.ts';
import { functionIdIn } from './template-functions.ts';

/** How the API calls a function: Lambda's answer, or the error Lambda reports. */
export type Invoke = (
  functionLogicalId: string,
  event: unknown,
) => Promise<
  { ok: true; payload: unknown } | { ok: false; kind: string; errorType: string; errorMessage: string }
>;

interface Method {
  readonly path: string;
  readonly httpMethod: string;
  readonly functionId: string;
  readonly authorizerId?: string;
}

interface Authorizer {
  readonly functionId: string;
  /** Request headers (lower-case) whose values identify the caller and key the result cache. */
  readonly identityHeaders: readonly string[];
  readonly ttlMs: number;
}

/** Where a gateway response header's value comes from, as its mapping expression says. */
export type HeaderSource =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'requestId' }
  | { readonly kind: 'requestHeader'; readonly name: string };

interface GatewayResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, HeaderSource>>;
  readonly body: string;
}

/**
 * A gateway response header's mapping expression: a quoted literal, `context.requestId`, or
 * `method.request.header.<name>`. Anything else stops the start: rendering it wrongly would hide a
 * difference from AWS.
 */
export const headerSourceOf = (expression: string): HeaderSource => {
  const literal = /^'(.*)'$/s.exec(expression);
  if (literal) return { kind: 'literal', value: literal[1]! };
  if (expression === 'context.requestId') return { kind: 'requestId' };
  if (expression.startsWith('method.request.header.')) {
    return { kind: 'requestHeader', name: expression.slice('method.request.header.'.length).toLowerCase() };
  }
  throw new Error(`gateway response header mapping ${expression}: not rendered locally`);
};

/**
 * The headers a gateway response sends for one request. `method.request.header.*` has a value only once
 * a method matched (never for MISSING_AUTHENTICATION_TOKEN): without one, API Gateway leaves the header out.
 */
export const renderHeaders = (
  headers: Readonly<Record<string, HeaderSource>>,
  request: { readonly requestId: string; readonly methodHeaders?: IncomingMessage['headers'] },
): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [name, source] of Object.entries(headers)) {
    if (source.kind === 'literal') out[name] = source.value;
    else if (source.kind === 'requestId') out[name] = request.requestId;
    else {
      const value = request.methodHeaders?.[source.name];
      if (typeof value === 'string') out[name] = value;
    }
  }
  return out;
};

/** The REST API exactly as the template declares it. */
export interface RestApiModel {
  readonly apiId: string;
  readonly stageName: string;
  readonly methods: readonly Method[];
  readonly authorizers: Readonly<Record<string, Authorizer>>;
  readonly responses: Readonly<Record<string, GatewayResponse>>;
  readonly throttle?: { readonly ratePerSecond: number; readonly burst: number };
}

type Props = Record<string, unknown>;
const refOf = (v: unknown): string | undefined =>
  typeof v === 'object' && v !== null && 'Ref' in v ? String((v as { Ref: unknown }).Ref) : undefined;

/** Reads resources, methods, the authorizer, gateway responses and the stage throttle from the template. */
export const readRestApi = (stack: StackArtifact): RestApiModel => {
  const resources = stack.template.Resources;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const [api] = ofType('AWS::ApiGateway::RestApi');
  if (!api) throw new Error(`${stack.stackName} declares no REST API`);
  const apiId = api[0];

  const pathOf = (resourceId: unknown): string => {
    const id = refOf(resourceId);
    if (!id) return ''; // Fn::GetAtt [api, RootResourceId]
    const p = resources[id]?.Properties as Props;
    return `${pathOf(p.ParentId)}/${String(p.PathPart)}`;
  };

  const methods: Method[] = ofType('AWS::ApiGateway::Method').flatMap(([id, r]) => {
    const p = r.Properties as Props;
    const integration = p.Integration as Props | undefined;
    const functionId = functionIdIn(integration?.Uri, stack);
    if (integration?.Type !== 'AWS_PROXY' || !functionId) {
      throw new Error(`method ${id}: only Lambda proxy integrations are run locally`);
    }
    const authorizerId = p.AuthorizationType === 'CUSTOM' ? refOf(p.AuthorizerId) : undefined;
    return [
      { path: pathOf(p.ResourceId) || '/', httpMethod: String(p.HttpMethod), functionId, authorizerId },
    ];
  });

  const authorizers: Record<string, Authorizer> = {};
  for (const [id, r] of ofType('AWS::ApiGateway::Authorizer')) {
    const p = r.Properties as Props;
    const functionId = functionIdIn(p.AuthorizerUri, stack);
    if (p.Type !== 'REQUEST' || !functionId)
      throw new Error(`authorizer ${id}: only REQUEST Lambda authorizers`);
    authorizers[id] = {
      functionId,
      identityHeaders: String(p.IdentitySource ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.startsWith('method.request.header.'))
        .map((s) => s.slice('method.request.header.'.length).toLowerCase()),
      ttlMs: Number(p.AuthorizerResultTtlInSeconds ?? 300) * 1000,
    };
  }

  const responses: Record<string, GatewayResponse> = {};
  for (const [, r] of ofType('AWS::ApiGateway::GatewayResponse')) {
    const p = r.Properties as Props;
    const headers: Record<string, HeaderSource> = {};
    for (const [k, v] of Object.entries((p.ResponseParameters ?? {}) as Record<string, string>)) {
      if (k.startsWith('gatewayresponse.header.')) headers[k.slice(23)] = headerSourceOf(v);
    }
    const templates = (p.ResponseTemplates ?? {}) as Record<string, string>;
    responses[String(p.ResponseType)] = {
      status: Number(p.StatusCode ?? 0),
      headers,
      body: templates['application/json'] ?? '{"message":"$context.error.messageString"}',
    };
  }

  const [stage] = ofType('AWS::ApiGateway::Stage');
  const settings = ((stage?.[1].Properties as Props | undefined)?.MethodSettings ?? []) as Props[];
  const all = settings.find((s) => s.ResourcePath === '/*' && s.HttpMethod === '*');
  return {
    apiId,
    stageName: String((stage?.[1].Properties as Props | undefined)?.StageName ?? 'local'),
    methods,
    authorizers,
    responses,
    throttle:
      all?.ThrottlingRateLimit !== undefined
        ? { ratePerSecond: Number(all.ThrottlingRateLimit), burst: Number(all.ThrottlingBurstLimit ?? 0) }
        : undefined,
  };
};

/** API Gateway's default status for the response types it answers with itself. */
const DEFAULT_STATUS: Record<string, number> = {
  UNAUTHORIZED: 401,
  ACCESS_DENIED: 403,
  AUTHORIZER_FAILURE: 500,
  AUTHORIZER_CONFIGURATION_ERROR: 500,
  THROTTLED: 429,
  MISSING_AUTHENTICATION_TOKEN: 403,
  REQUEST_TOO_LARGE: 413,
  INTEGRATION_FAILURE: 500,
  INTEGRATION_TIMEOUT: 504,
  BAD_GATEWAY: 502,
};

/** API Gateway's own messages for the answers that reach DEFAULT_4XX/5XX templates. */
const ERROR_MESSAGE: Record<string, string> = {
  BAD_GATEWAY: 'Internal server error',
  INTEGRATION_FAILURE: 'Internal server error',
  INTEGRATION_TIMEOUT: 'Endpoint request timed out',
  AUTHORIZER_CONFIGURATION_ERROR: 'Internal server error',
  MISSING_AUTHENTICATION_TOKEN: 'Missing Authentication Token',
  THROTTLED: 'Too Many Requests',
  REQUEST_TOO_LARGE: 'Request Too Long',
};

/** The `$context` variables a gateway response template may use, filled as API Gateway does. */
export const fillTemplate = (template: string, context: { message: string; requestId: string }): string =>
  template
    .replaceAll('$context.error.messageString', JSON.stringify(context.message))
    .replaceAll('$context.error.message', context.message.replace(/["\\]/g, ''))
    .replaceAll('$context.requestId', context.requestId);

/** API Gateway's REST integration timeout: past it the client gets a 504 whatever the function does. */
const INTEGRATION_TIMEOUT_MS = 29_000;

/** API Gateway's payload limit for REST APIs. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

export interface LocalRestApiOptions {
  readonly host: string;
  readonly port: number;
  readonly invoke: Invoke;
  /** `off` (loopback only): every guarded call acts as the all-tenant admin, as the sources runner does. */
  readonly auth: 'on' | 'off';
  readonly extraRoutes?: Record<string, ExtraRoute>;
  readonly onError?: (err: unknown) => void;
}

export interface LocalRestApi {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

const readBody = (req: IncomingMessage): Promise<Buffer | 'too_large'> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_PAYLOAD_BYTES) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_PAYLOAD_BYTES ? 'too_large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });

/** A token bucket: the stage throttle (rate per second, burst). */
const tokenBucket = (ratePerSecond: number, burst: number) => {
  let tokens = burst;
  let last = Date.now();
  return (): boolean => {
    const now = Date.now();
    tokens = Math.min(burst, tokens + ((now - last) / 1000) * ratePerSecond);
    last = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
};

/**
 * Serves the template's REST API: its resources and methods (a path or method the stack lacks is API
 * Gateway's MISSING_AUTHENTICATION_TOKEN answer, as deployed), the REQUEST authorizer with its identity
 * source and result cache, the gateway responses, the stage throttle and the 10 MB payload limit; each
 * integration invokes its function through the local Lambda service.
 */
export const startRestApi = async (
  model: RestApiModel,
  options: LocalRestApiOptions,
): Promise<LocalRestApi> => {
  const byPath = new Map<string, Method[]>();
  for (const m of model.methods) byPath.set(m.path, [...(byPath.get(m.path) ?? []), m]);
  const allow = model.throttle ? tokenBucket(model.throttle.ratePerSecond, model.throttle.burst) : () => true;
  const authCache = new Map<string, { until: number; result: APIGatewayAuthorizerResult }>();
  const methodArn = (method: string, path: string) =>
    `arn:aws:execute-api:us-east-1:000000000000:${model.apiId}/${model.stageName}/${method}${path}`;

  /** API Gateway's own answer of `type`; `methodHeaders` are the request's once a method matched. */
  const gatewayAnswer = (type: string, methodHeaders?: IncomingMessage['headers']) => {
    const status = model.responses[type]?.status || DEFAULT_STATUS[type] || 500;
    const spec = model.responses[type] ?? model.responses[status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX'];
    const requestId = randomUUID();
    const body = fillTemplate(spec?.body ?? '{"message":$context.error.messageString}', {
      message: ERROR_MESSAGE[type] ?? 'Internal server error',
      requestId,
    });
    const headers = {
      'content-type': 'application/json',
      'x-amzn-errortype': type,
      ...renderHeaders(spec?.headers ?? {}, { requestId, methodHeaders }),
    };
    return { status, headers, body };
  };
  const gateway = (res: ServerResponse, type: string, methodHeaders?: IncomingMessage['headers']) => {
    const { status, headers, body } = gatewayAnswer(type, methodHeaders);
    res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const authorize = async (
    req: IncomingMessage,
    url: URL,
    method: Method,
  ): Promise<{ context: Record<string, string> } | { refusal: string }> => {
    if (!method.authorizerId) return { context: {} };
    if (options.auth === 'off') {
      return { context: { principalId: ANONYMOUS_ADMIN.name, ...toAuthorizerContext(ANONYMOUS_ADMIN) } };
    }
    const authorizer = model.authorizers[method.authorizerId];
    if (!authorizer) return { refusal: 'AUTHORIZER_CONFIGURATION_ERROR' };
    const identity = authorizer.identityHeaders.map((h) => req.headers[h]);
    if (identity.some((v) => typeof v !== 'string' || v.trim() === '')) return { refusal: 'UNAUTHORIZED' };
    const event = toAuthorizerEvent(req, url, method.path);
    event.methodArn = methodArn(method.httpMethod, method.path);
    const key = identity.join('\n');
    let cached = authCache.get(key);
    if (!cached || cached.until <= Date.now()) {
      const answer = await options.invoke(authorizer.functionId, event);
      // An authorizer that fails (throws anything but "Unauthorized", times out, is throttled) is a 500
      // AuthorizerConfigurationException in API Gateway, not its AUTHORIZER_FAILURE response.
      if (!answer.ok) {
        return {
          refusal:
            answer.kind === 'function' && answer.errorMessage === 'Unauthorized'
              ? 'UNAUTHORIZED'
              : 'AUTHORIZER_CONFIGURATION_ERROR',
        };
      }
      cached = { until: Date.now() + authorizer.ttlMs, result: answer.payload as APIGatewayAuthorizerResult };
      if (authorizer.ttlMs > 0) authCache.set(key, cached);
    }
    const { result } = cached;
    if (!result?.policyDocument) return { refusal: 'AUTHORIZER_CONFIGURATION_ERROR' };
    if (!policyAllows(result.policyDocument, event.methodArn)) return { refusal: 'ACCESS_DENIED' };
    const context = Object.fromEntries(Object.entries(result.context ?? {}).map(([k, v]) => [k, String(v)]));
    return { context: { ...context, principalId: result.principalId } };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const extra = options.extraRoutes?.[url.pathname];
    if (extra && req.method === 'GET') return extra(res, req);
    const method = byPath.get(url.pathname)?.find((m) => m.httpMethod === req.method);
    if (!method) return gateway(res, 'MISSING_AUTHENTICATION_TOKEN');
    if (!allow()) return gateway(res, 'THROTTLED', req.headers);
    const body = await readBody(req);
    if (body === 'too_large') return gateway(res, 'REQUEST_TOO_LARGE', req.headers);
    const auth = await authorize(req, url, method);
    if ('refusal' in auth) return gateway(res, auth.refusal, req.headers);
    const event = toApiGatewayEvent(req, url, method.path, body.length > 0 ? body.toString('utf8') : null);
    event.requestContext.stage = model.stageName;
    event.requestContext.apiId = model.apiId;
    if (method.authorizerId) event.requestContext.authorizer = auth.context;
    let timer: NodeJS.Timeout | undefined;
    const answer = await Promise.race([
      options.invoke(method.functionId, event),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), INTEGRATION_TIMEOUT_MS);
      }),
    ]).finally(() => clearTimeout(timer));
    if (answer === 'timeout') return gateway(res, 'INTEGRATION_TIMEOUT', req.headers);
    // Lambda throttled: 500; any function failure (error, timeout, crash, init): 502, as API Gateway answers.
    if (!answer.ok) {
      return gateway(res, answer.kind === 'throttle' ? 'INTEGRATION_FAILURE' : 'BAD_GATEWAY', req.headers);
    }
    const result = answer.payload as APIGatewayProxyResult | null;
    if (
      !result ||
      !Number.isInteger(result.statusCode) ||
      result.statusCode < 100 ||
      result.statusCode > 599
    ) {
      return gateway(res, 'BAD_GATEWAY', req.headers);
    }
    const payload = result.isBase64Encoded
      ? Buffer.from(result.body, 'base64')
      : Buffer.from(result.body ?? '');
    const headers: Record<string, string | string[]> = { ...(result.headers as Record<string, string>) };
    for (const [k, v] of Object.entries(result.multiValueHeaders ?? {})) headers[k] = v.map(String);
    res.writeHead(result.statusCode, { ...headers, 'content-length': payload.length });
    res.end(payload);
  };

  const server = createServer({ keepAliveTimeout: 5000, requestTimeout: 60_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      options.onError?.(err);
      if (!res.headersSent) gateway(res, 'BAD_GATEWAY');
      else res.destroy();
    });
  });
  server.on('clientError', answerClientError);
  // CONNECT is no method of the stack: API Gateway's answer for it, JSON, on the bare socket node hands over.
  server.on('connect', (_req, socket) => {
    const { status, headers, body } = gatewayAnswer('MISSING_AUTHENTICATION_TOKEN');
    answerOnSocket(socket, status, body, headers);
  });
  // Node answers an Expect other than 100-continue with a bare 417; ours is JSON like every other answer.
  server.on('checkExpectation', (_req, res) => {
    const body = JSON.stringify({
      error: 'expectation_failed',
      message: 'only Expect: 100-continue is supported',
    });
    res.writeHead(417, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-correlation-id': randomUUID(),
      connection: 'close',
    });
    res.end(body);
  });
  const url = await listenOn(server, options.host, options.port);
  return {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};
