import * as z from 'zod';
import { type FieldIssue, ValidationError } from './errors.ts';
import type { RouteKey } from './route.ts';

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const URL_MAX_LENGTH = 2048;
export const ACTOR_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@+:/-]{0,127}$/;

const NAME_RULE =
  'must be 1-64 characters of letters, digits, ".", "_" or "-", starting with a letter or digit';

export const nameSchema = z
  .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
  .regex(NAME_PATTERN, { error: NAME_RULE, abort: true });

const isHttpUrl = (value: string): boolean => {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return false; // spaces and control characters
  }
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
};

const hasNoCredentials = (value: string): boolean => {
  try {
    const u = new URL(value);
    return u.username === '' && u.password === '';
  } catch {
    return true;
  }
};

export const urlSchema = z
  .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
  .max(URL_MAX_LENGTH, { error: `must be at most ${URL_MAX_LENGTH} characters`, abort: true })
  .refine(isHttpUrl, {
    error: 'must be an absolute http(s) URL without spaces or control characters',
    abort: true,
  })
  .refine(hasNoCredentials, { error: 'must not contain credentials (user:password@)' });

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
