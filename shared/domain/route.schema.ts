import * as z from 'zod';
import { type FieldIssue, ValidationError } from './errors.ts';
import { parseRfc3986 } from './rfc3986.ts';
import type { RouteKey } from './route.ts';

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const URL_MAX_LENGTH = 2048;
export const ACTOR_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@+:/-]{0,127}$/;

const NAME_RULE =
  'must be 1-64 characters of letters, digits, ".", "_" or "-", starting with a letter or digit';

export const nameSchema = z
  .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
  .regex(NAME_PATTERN, { error: NAME_RULE, abort: true });

const URL_RULE = 'must be an absolute http(s) URL without spaces or control characters';

/**
 * Why a URL is refused, as a rule id and message; null when it is acceptable. Callers act on the URL we
 * return, so it must mean one thing to every client: only a URL that is already the WHATWG URL
 * serialization of itself is accepted (so it is ASCII, lower-case scheme and host, no default port, no
 * backslash or other character a parser repairs), apart from an empty path, which every parser reads
 * as "/". The characters that make parsers disagree, or that display differently from what they are,
 * get rules of their own.
 */
export const urlProblem = (value: string): { rule: string; message: string } | null => {
  if (/\p{Cs}/u.test(value) || value.includes('\uFFFD')) {
    return {
      rule: 'encoding',
      message: 'must be valid UTF-8 (no lone surrogates or replacement characters)',
    };
  }
  if (/\p{Cc}|\s/u.test(value)) return { rule: 'format', message: URL_RULE }; // controls (C0, DEL, C1), spaces
  if (/\p{Cf}/u.test(value)) {
    return {
      rule: 'invisible_character',
      message: 'must not contain bidi or other invisible formatting characters',
    };
  }
  if (value.includes('\\')) {
    return { rule: 'backslash', message: 'must not contain a backslash (parsers disagree on what it means)' };
  }
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return { rule: 'format', message: URL_RULE };
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname === '') {
    return { rule: 'format', message: URL_RULE };
  }
  if (u.username !== '' || u.password !== '') {
    return { rule: 'credentials', message: 'must not contain credentials (user:password@)' };
  }
  if (u.href !== value && u.href !== `${value}/`) {
    return {
      rule: 'non_canonical',
      message: `must be written as its canonical form: ${u.href.slice(0, 200)}`,
    };
  }
  // WHATWG leaves some characters RFC 3986 reserves (e.g. "[", "]", "|" in a path) as they are.
  if (parseRfc3986(value)?.host !== u.hostname) {
    return {
      rule: 'rfc3986',
      message: 'must be a valid RFC 3986 URI (percent-encode [ ] | ^ ` { } and "%")',
    };
  }
  return null;
};

export const urlSchema = z
  .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
  .max(URL_MAX_LENGTH, { error: `must be at most ${URL_MAX_LENGTH} characters`, abort: true })
  .superRefine((value, ctx) => {
    const problem = urlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem.message, params: { rule: problem.rule } });
  });

export const routeKeySchema = z.object({
  tenant: nameSchema,
  service: nameSchema,
  env: nameSchema,
  version: nameSchema,
});

export const upsertRouteBodySchema = routeKeySchema.extend({ url: urlSchema });

/** Rule ids let clients branch on the problem without parsing messages. */
const ruleOf = (issue: z.core.$ZodIssue): string => {
  if (issue.code === 'invalid_type') return issue.input === undefined ? 'required' : 'type';
  if (issue.code === 'invalid_format') return 'format';
  if (issue.code === 'too_big') return 'max_length';
  if (issue.code === 'unrecognized_keys') return 'unknown_field';
  if (issue.code === 'custom') return typeof issue.params?.rule === 'string' ? issue.params.rule : 'format';
  return issue.code;
};

export const toFieldIssues = (error: z.ZodError, prefix = ''): FieldIssue[] =>
  error.issues.map((issue) => {
    if (!issue.path.length) {
      return { field: prefix || 'body', rule: 'type', message: 'must be a JSON object' };
    }
    return { field: prefix + issue.path.join('.'), rule: ruleOf(issue), message: issue.message };
  });

/** Parses with a zod schema and turns failures into one ValidationError that names every field. */
export const parseOrThrow = <S extends z.ZodType>(schema: S, input: unknown, prefix = ''): z.output<S> => {
  // reportInput lets ruleOf tell "missing" from "wrong type"; inputs are never echoed back.
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw new ValidationError(toFieldIssues(result.error, prefix));
  return result.data;
};

const isName = (value: unknown): value is string => typeof value === 'string' && NAME_PATTERN.test(value);

/**
 * The route key from query or body fields. Every resolve parses one, so a well-formed key is checked
 * with the rule's regex directly (what routeKeySchema checks, without its allocations); anything else
 * goes through the schema for its field-by-field errors.
 */
export const parseRouteKey = (input: unknown): RouteKey => {
  if (typeof input === 'object' && input !== null) {
    const { tenant, service, env, version } = input as Record<string, unknown>;
    if (isName(tenant) && isName(service) && isName(env) && isName(version)) {
      return { tenant, service, env, version };
    }
  }
  return parseOrThrow(routeKeySchema, input);
};
