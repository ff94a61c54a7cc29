import { describe, expect, it } from 'vitest';
import { allowedMethodArns, policyFor } from '#functions/auth/authorizer-policy';
import { httpRoutes, isPublic } from '#functions/route-table';
import { ROLES, roleAllows } from '#shared/domain/auth';
import { localMethodArn } from '../../scripts/local/api-gateway-event.ts';
import { chooseAuthMode, isLoopback } from '../../scripts/local/local-auth.ts';
import { policyAllows } from '../../scripts/local/local-authorizer.ts';

const arn = (method: string, path: string) =>
  `arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/${method}${path}`;
const guarded = httpRoutes.filter((r) => !isPublic(r));

describe('the authorizer policy', () => {
  it('lists, in the caller’s API and stage, exactly the routes the role may call', () => {
    expect(allowedMethodArns('resolver', arn('GET', '/api/v1/routes/resolve'))).toEqual([
      arn('GET', '/api/v1/routes/resolve'),
      arn('GET', '/api/v1/routes'),
      arn('GET', '/api/v1/routes/detail'),
      arn('GET', '/api/v1/splits'),
    ]);
    // Split writes are write routes: PUT and DELETE on the same path, each its own method ARN.
    const writer = allowedMethodArns('writer', arn('GET', '/api/v1/routes/resolve'));
    expect(writer).toContain(arn('PUT', '/api/v1/splits'));
    expect(writer).toContain(arn('DELETE', '/api/v1/splits'));
    expect(allowedMethodArns('resolver', arn('GET', '/api/v1/splits'))).not.toContain(
      arn('PUT', '/api/v1/splits'),
    );
    expect(allowedMethodArns('admin', arn('GET', '/api/v1/routes/resolve'))).toHaveLength(guarded.length);
  });

  it.each(ROLES)(
    'still answers right for every route when API Gateway reuses a %s token’s cached policy',
    (role) => {
      // The policy is cached per token and applied to whatever route comes next: whichever route it was
      // made for, it must allow exactly the routes the role may call.
      for (const first of guarded) {
        const policy = policyFor(role, arn(first.method, first.path));
        for (const next of guarded) {
          expect(policyAllows(policy, arn(next.method, next.path)), `${first.path} → ${next.path}`).toBe(
            roleAllows(role, next.permission as Exclude<typeof next.permission, 'public'>),
          );
        }
        expect(policyAllows(policy, arn('GET', '/api/v1/routes/resolve').replace('/prod/', '/dev/'))).toBe(
          false,
        );
      }
    },
  );
});

describe('policy evaluation in the local runner', () => {
  const statement = (Effect: 'Allow' | 'Deny', Resource: string | string[]) => ({
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect, Resource }],
  });
  const target = localMethodArn('POST', '/api/v1/routes');

  it('allows only what an Allow matches (wildcards included), and lets an explicit Deny win', () => {
    expect(policyAllows(statement('Allow', target), target)).toBe(true);
    expect(
      policyAllows(statement('Allow', 'arn:aws:execute-api:local:000000000000:local/local/*'), target),
    ).toBe(true);
    expect(policyAllows(statement('Allow', localMethodArn('GET', '/api/v1/routes')), target)).toBe(false);
    expect(policyAllows(statement('Deny', target), target)).toBe(false);
    const both = {
      Version: '2012-10-17',
      Statement: [...statement('Allow', '*').Statement, ...statement('Deny', target).Statement],
    };
    expect(policyAllows(both, target)).toBe(false);
  });
});

describe('auth mode of the local runner', () => {
  it('defaults to off on loopback and on elsewhere, and refuses off on a reachable address', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1'])
      expect(isLoopback(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '127.0.0.1.nip.io'])
      expect(isLoopback(host), host).toBe(false);
    expect(chooseAuthMode('127.0.0.1', undefined)).toBe('off');
    expect(chooseAuthMode('127.0.0.1', 'on')).toBe('on');
    expect(chooseAuthMode('0.0.0.0', undefined)).toBe('on');
    expect(() => chooseAuthMode('0.0.0.0', 'off')).toThrow(/refusing to start with AUTH_MODE=off/);
  });
});
