import type { IncomingMessage } from 'node:http';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import { type GatewayResponseSpec, gatewayResponses } from '#functions/gateway-responses';
import { authorizerFunctions, type HttpRoute } from '#functions/route-table';
import { ANONYMOUS_ADMIN, toAuthorizerContext } from '#shared/domain/auth';
import { lambdaContext, toAuthorizerEvent } from './api-gateway-event.ts';

export type AuthMode = 'on' | 'off';

/** What API Gateway would do with a call to a guarded route: hand a context to the integration, or refuse. */
export type LocalAuthorization =
  | { readonly context: Readonly<Record<string, string>> }
  | { readonly refusal: GatewayResponseSpec };

export type LocalAuthorizer = (
  req: IncomingMessage,
  url: URL,
  route: HttpRoute,
) => Promise<LocalAuthorization>;

type AuthorizerHandler = (
  event: APIGatewayRequestAuthorizerEvent,
  context: Context,
) => Promise<APIGatewayAuthorizerResult>;

interface Statement {
  readonly Effect?: unknown;
  readonly Action?: unknown;
  readonly Resource?: unknown;
}

const globToRegExp = (pattern: string): RegExp =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replaceAll('*', '.*')
      .replaceAll('?', '.')}$`,
  );

const strings = (value: unknown): string[] =>
  [value].flat().filter((v): v is string => typeof v === 'string');

/** IAM evaluation as API Gateway applies an authorizer's policy: an explicit Deny wins, else an Allow must match. */
export const policyAllows = (
  policy: APIGatewayAuthorizerResult['policyDocument'],
  methodArn: string,
): boolean => {
  const matches = (effect: 'Allow' | 'Deny') =>
    (policy.Statement as readonly Statement[]).some(
      (s) =>
        s.Effect === effect &&
        strings(s.Action).some((a) => ['execute-api:Invoke', 'execute-api:*', '*'].includes(a)) &&
        strings(s.Resource).some((r) => globToRegExp(r).test(methodArn)),
    );
  return !matches('Deny') && matches('Allow');
};

const hasAuthorizationHeader = (event: APIGatewayRequestAuthorizerEvent): boolean =>
  Object.entries(event.headers ?? {}).some(([k, v]) => k.toLowerCase() === 'authorization' && !!v?.trim());

/**
 * Plays API Gateway's part for the routes behind the authorizer. `on`: the real authorizer function
 * (functions/route-table.ts) gets the REQUEST event, a missing Authorization header is a 401 without
 * calling it (its identity source), its policy is evaluated against the route's method ARN, and its
 * context goes into `event.requestContext.authorizer`, as API Gateway does (without API Gateway's
 * result cache: revocation is immediate locally). `off`: every call acts as the all-tenant admin
 * `anonymous`; start.ts allows that on a loopback address only.
 */
export const createLocalAuthorizer = async (root: string, mode: AuthMode): Promise<LocalAuthorizer> => {
  if (mode === 'off') {
    const context = { principalId: ANONYMOUS_ADMIN.name, ...toAuthorizerContext(ANONYMOUS_ADMIN) };
    return async () => ({ context });
  }
  const spec = authorizerFunctions.authorizer;
  const mod = (await import(pathToFileURL(resolve(root, spec.entry)).href)) as Record<string, unknown>;
  const authorizer = mod[spec.handler] as AuthorizerHandler;
  if (typeof authorizer !== 'function') throw new Error(`${spec.entry} does not export ${spec.handler}`);

  return async (req, url, route) => {
    const event = toAuthorizerEvent(req, url, route.path);
    if (!hasAuthorizationHeader(event)) return { refusal: gatewayResponses.UNAUTHORIZED };
    let result: APIGatewayAuthorizerResult;
    try {
      result = await authorizer(event, lambdaContext('authorizer'));
    } catch (err) {
      const refused = err instanceof Error && err.message === 'Unauthorized';
      return { refusal: refused ? gatewayResponses.UNAUTHORIZED : gatewayResponses.AUTHORIZER_FAILURE };
    }
    if (!policyAllows(result.policyDocument, event.methodArn))
      return { refusal: gatewayResponses.ACCESS_DENIED };
    const context = Object.fromEntries(
      Object.entries(result.context ?? {}).map(([k, v]) => [k, String(v)]),
    ) as Record<string, string>;
    return { context: { ...context, principalId: result.principalId } };
  };
};
