import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRfc3986 } from '#shared/domain/rfc3986';
import { upsertRouteBodySchema, urlProblem } from '#shared/domain/route.schema';

const accepted = (url: string): boolean =>
  upsertRouteBodySchema.safeParse({ tenant: 't', service: 's', env: 'e', version: 'v', url }).success;

/** Characters that make parsers disagree, or look like something else. */
const hostile = fc.constantFrom(
  '\\',
  '@',
  '\u202E', // right-to-left override
  '\u200B', // zero-width space
  '\u2066',
  '\uFEFF',
  '\uD800', // a lone surrogate
  '\uFFFD', // what invalid UTF-8 decodes to
  '\t',
  '\n',
  '\u0000',
  '%',
  '#',
  '?',
  ':',
  '[',
  ']',
  'é',
  'Ａ', // full-width A: WHATWG maps it in hosts
  '。', // ideographic full stop: a dot to WHATWG
  ' ',
  '/',
  '.',
);

/** Valid web URLs, some of them with hostile characters spliced in anywhere. */
const candidate = fc.oneof(
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc
    .tuple(
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      fc.array(fc.tuple(fc.nat(), hostile), { minLength: 1, maxLength: 3 }),
    )
    .map(([url, splices]) =>
      splices.reduce((u, [at, c]) => u.slice(0, at % (u.length + 1)) + c + u.slice(at % (u.length + 1)), url),
    ),
  fc.constantFrom(
    'https://good.example.com\\@evil.example.com/',
    'https://good.example.com/\\..\\evil',
    'HTTPS://Good.Example.COM/',
    'https://a.example.com:443/x',
    'https://%65vil.example.com/',
    'https://0x7f.1/',
    'http://[::1]:8080/x',
  ),
);

describe('route URLs: one meaning to every client (property)', () => {
  it('stores only URLs that round-trip unchanged through WHATWG URL and whose RFC 3986 host is the WHATWG host', () => {
    fc.assert(
      fc.property(candidate, (url) => {
        if (!accepted(url)) return;
        const whatwg = new URL(url);
        // The one difference allowed: an empty path, which both read as "/".
        expect([url, `${url}/`]).toContain(whatwg.href);
        expect(new URL(whatwg.href).href).toBe(whatwg.href);
        expect(parseRfc3986(url)?.host).toBe(whatwg.hostname);
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['https://good.example.com\\@evil.example.com/', 'backslash'],
    ['https://a.example.com/\u202Eexe.txt', 'invisible_character'],
    ['https://a.example.com/\u200B', 'invisible_character'],
    ['https://a.example.com/\uD800', 'encoding'],
    ['https://a.example.com/\uFFFD', 'encoding'],
    ['https://a.example.com/\u0085', 'format'],
    ['HTTPS://A.example.com/', 'non_canonical'],
    ['https://a.example.com:443/', 'non_canonical'],
    ['https://a.example.com/é', 'non_canonical'],
    ['https://%65vil.example.com/', 'non_canonical'],
    ['https://0x7f.1/', 'non_canonical'],
    ['https://a.example.com/a/../b', 'non_canonical'],
    ['https://user@a.example.com/', 'credentials'],
    ['https://a.example.com/[x]', 'rfc3986'],
    ['https://a.example.com/a|b', 'rfc3986'],
  ])('refuses %s with the rule %s', (url, rule) => {
    expect(urlProblem(url)?.rule).toBe(rule);
  });

  it('parses RFC 3986 strictly: no backslash, no raw brackets outside an IP literal', () => {
    expect(parseRfc3986('https://good.example.com\\@evil.example.com/')).toBeNull();
    expect(parseRfc3986('http://[::1]:8080/x')).toMatchObject({ host: '[::1]', port: '8080', path: '/x' });
    expect(parseRfc3986('https://u:p@Evil.example.com/p?q#f')).toMatchObject({
      userinfo: 'u:p',
      host: 'evil.example.com',
    });
  });

  it('accepts canonical URLs, and a bare origin as given', () => {
    for (const url of [
      'https://payments.example.com/v2',
      'http://a',
      'http://[::1]:8080/x?q=1#f',
      'https://xn--bcher-kva.example/',
    ]) {
      expect(urlProblem(url), url).toBeNull();
    }
  });
});
