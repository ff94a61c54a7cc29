import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/domain/errors';
import {
  parseOrThrow,
  parseRouteKey,
  routeKeySchema,
  upsertRouteBodySchema,
} from '#shared/domain/route.schema';

const valid = {
  tenant: 'team-a',
  service: 'payments',
  env: 'prod',
  version: 'v2',
  url: 'https://payments.example.com/v2',
};

const issuesOf = (input: unknown) => {
  try {
    parseOrThrow(upsertRouteBodySchema, input);
  } catch (err) {
    if (err instanceof ValidationError) return err.issues;
    throw err;
  }
  return [];
};

describe('route names', () => {
  it.each(['a', 'team-a', 'Team_A.1', '9lives', 'x'.repeat(64)])('accepts %s', (tenant) => {
    expect(parseRouteKey({ ...valid, tenant }).tenant).toBe(tenant);
  });

  it.each([
    ['empty', ''],
    ['65 characters', 'x'.repeat(65)],
    ['a colon (the old cache-key separator)', 'x:y'],
    ['a leading dash', '-team'],
    ['a leading dot', '.team'],
    ['a slash', 'a/b'],
    ['a space', 'team a'],
    ['unicode', 'tëam'],
    ['a newline', 'team\n'],
  ])('rejects a name with %s, naming the field and the rule', (_label, tenant) => {
    const [issue] = issuesOf({ ...valid, tenant });
    expect(issue).toMatchObject({ field: 'tenant', rule: 'format' });
    expect(issue?.message).toContain('1-64 characters');
  });

  it('parses route keys exactly as the schema does (the fast path included)', () => {
    const name = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,70}$/),
      fc.string({ maxLength: 8 }),
      fc.constantFrom('x:y', 'a\n', '', '-a', 'x'.repeat(64), 'x'.repeat(65)),
      fc.anything(),
    );
    const outcome = (parse: () => unknown) => {
      try {
        return { ok: parse() };
      } catch (err) {
        return { error: (err as ValidationError).issues };
      }
    };
    fc.assert(
      fc.property(
        fc.record(
          { tenant: name, service: name, env: name, version: name, extra: fc.anything() },
          { requiredKeys: [] },
        ),
        (input) => {
          expect(outcome(() => parseRouteKey(input))).toEqual(
            outcome(() => parseOrThrow(routeKeySchema, input)),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('names every missing field', () => {
    const fields = issuesOf({ url: valid.url }).map((i) => [i.field, i.rule]);
    expect(fields).toEqual([
      ['tenant', 'required'],
      ['service', 'required'],
      ['env', 'required'],
      ['version', 'required'],
    ]);
  });

  it('reports a wrong type as a type error', () => {
    expect(issuesOf({ ...valid, version: 2 })[0]).toMatchObject({ field: 'version', rule: 'type' });
  });

  it('reports a non-object body as a body error', () => {
    for (const body of [null, [], 'x', 3]) {
      expect(issuesOf(body)[0]).toMatchObject({ field: 'body', rule: 'type' });
    }
  });
});

describe('route URLs', () => {
  it.each(['http://a', 'https://payments.example.com/v2?x=1#f', `https://h/${'p'.repeat(2030)}`])(
    'accepts %s',
    (url) => {
      expect(issuesOf({ ...valid, url })).toEqual([]);
    },
  );

  it.each([
    ['relative', '/v2'],
    ['another scheme', 'ftp://files.example.com'],
    ['javascript', 'javascript:alert(1)'],
    ['no host', 'https://'],
    ['spaces', 'https://a b.example.com'],
    ['a control character', 'https://a.example.com/\u0007'],
    ['credentials', 'https://user:secret@a.example.com'],
    ['2,049 characters', `https://h/${'p'.repeat(2039)}`],
  ])('rejects a URL with %s', (_label, url) => {
    expect(issuesOf({ ...valid, url })[0]).toMatchObject({ field: 'url' });
  });

  it('names the length rule for an overlong URL', () => {
    expect(issuesOf({ ...valid, url: `https://h/${'p'.repeat(3000)}` })[0]).toMatchObject({
      field: 'url',
      rule: 'max_length',
    });
  });
});
