import { type Role, roleAllows } from '#shared/domain/auth';
import type { AuthorizerResult } from '#shared/middleware/authorizer-handler';
import { httpRoutes } from '../route-table.ts';

/**
 * The ARN of every route `role` may call, in the API and stage of `methodArn`
 * (`arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>`).
 */
export const allowedMethodArns = (role: Role, methodArn: string): string[] => {
  const [api, stage] = methodArn.split('/');
  return httpRoutes
    .filter((r) => r.permission !== 'public' && roleAllows(role, r.permission))
    .map((r) => `${api}/${stage}/${r.method}${r.path}`);
};

/**
 * Allows every route the role may call, not only the one asked for: API Gateway caches the policy per
 * token for the authorizer's TTL and applies it to whatever route the token calls next. A route the
 * role may not call is simply absent, so API Gateway answers 403 (ACCESS_DENIED).
 */
export const policyFor = (role: Role, methodArn: string): AuthorizerResult['policyDocument'] => ({
  Version: '2012-10-17',
  Statement: [
    { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: allowedMethodArns(role, methodArn) },
  ],
});
