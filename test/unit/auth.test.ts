import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newTokenParts } from '#shared/adapters/auth/token-hasher.hmac';
import {
  ANONYMOUS_ADMIN,
  bearerTokenOf,
  formatToken,
  mayActOn,
  PERMISSIONS,
  type Principal,
  parseToken,
  principalFromContext,
  ROLES,
  roleAllows,
  toAuthorizerContext,
} from '#shared/domain/auth';

const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
const principal: fc.Arbitrary<Principal> = fc.record({
  name: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._@+:/-]{0,127}$/),
  role: fc.constantFrom(...ROLES),
  tenants: fc.oneof(fc.constant('*' as const), fc.uniqueArray(name, { minLength: 1, maxLength: 50 })),
  tokenId: fc.oneof(fc.constant(null), fc.stringMatching(/^[a-z2-7]{16}$/)),
  expiresAt: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 2 ** 45 })),
});

describe('roles', () => {
  it('grants each role exactly its permissions: resolver ⊂ writer ⊂ admin', () => {
    const granted = Object.fromEntries(ROLES.map((r) => [r, PERMISSIONS.filter((p) => roleAllows(r, p))]));
    expect(granted).toEqual({
      resolver: ['resolve'],
      writer: ['resolve', 'write', 'audit'],
      admin: ['resolve', 'write', 'audit', 'admin'],
    });
  });

  it('lets a principal act on its tenants only, or on every tenant with "*"', () => {
    const p = { ...ANONYMOUS_ADMIN, tenants: ['team-a'] };
    expect(mayActOn(p, 'team-a')).toBe(true);
    expect(mayActOn(p, 'team-b')).toBe(false);
    expect(mayActOn(p, 'team-a2')).toBe(false);
    expect(mayActOn(ANONYMOUS_ADMIN, 'anything')).toBe(true);
  });
});

describe('token format', () => {
  it('round-trips every generated token, and parses nothing else of that shape', () => {
    for (let i = 0; i < 200; i++) {
      const parts = newTokenParts();
      expect(parts.id).toMatch(/^[a-z2-7]{16}$/);
      expect(parts.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(parseToken(formatToken(parts))).toEqual(parts);
    }
  });

  it('never parses a string that is not exactly tm_<id>_<secret>', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 120 }), (raw) => {
        const parsed = parseToken(raw);
        if (parsed) expect(formatToken(parsed)).toBe(raw);
      }),
    );
    const good = formatToken(newTokenParts());
    for (const bad of [`${good} `, ` ${good}`, good.slice(0, -1), `${good}x`, good.replace('tm_', 'TM_')]) {
      expect(parseToken(bad), bad).toBeNull();
    }
  });

  it('reads a Bearer token, and nothing from other schemes or junk', () => {
    expect(bearerTokenOf('Bearer abc')).toBe('abc');
    expect(bearerTokenOf('bearer   abc  ')).toBe('abc');
    for (const h of [undefined, '', 'Bearer', 'Basic abc', 'Bearer a b', 'Bearer\r\nabc', 'x'.repeat(600)]) {
      expect(bearerTokenOf(h), String(h)).toBeNull();
    }
  });
});

describe('the authorizer context', () => {
  it('carries any principal through API Gateway’s flat string map unchanged', () => {
    fc.assert(
      fc.property(principal, (p) => {
        expect(principalFromContext(toAuthorizerContext(p))).toEqual(p);
      }),
    );
  });

  it('is refused when missing or not something the authorizer wrote', () => {
    for (const ctx of [
      undefined,
      null,
      {},
      { principal: 'a', role: 'root', tenants: '*' },
      { principal: 'a', role: 'admin', tenants: 'a,,b' },
      { principal: 'a\r\nb', role: 'admin', tenants: '*' },
      { principal: 'a', role: 'admin', tenants: '*', tokenId: 'UPPERCASE0000000' },
    ]) {
      expect(principalFromContext(ctx), JSON.stringify(ctx)).toBeNull();
    }
  });
});
