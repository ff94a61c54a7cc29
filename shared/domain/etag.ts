import { ValidationError } from './errors.ts';
import type { WritePrecondition } from './route.ts';

/**
 * Conditional requests (RFC 9110 §8.8.3, §13). A route's entity tag is its revision, strong and quoted
 * (`"7"`): Postgres bumps the revision on every change, and routes are never deleted, so one revision
 * names one state of a route. Resolve, detail and the writes' answers carry it; `If-Match` on a write
 * takes it back.
 */
export const etagOf = (revision: number): string => `"${revision}"`;

interface EntityTag {
  readonly weak: boolean;
  /** The quoted opaque tag, quotes included. */
  readonly opaque: string;
}

// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, in a comma-separated list (§8.8.3, §5.6.1).
const TAG = /^(W\/)?("[\x21\x23-\x7e\x80-\xff]*")$/;

/** `*`, or the header's entity tags; a malformed header is a 400 naming it (never silently ignored). */
const parseTags = (header: string, name: string): '*' | EntityTag[] => {
  const value = header.trim();
  if (value === '*') return '*';
  const tags: EntityTag[] = [];
  for (const part of value.split(',')) {
    const item = part.trim();
    if (item === '') continue; // the list syntax allows empty elements
    const m = TAG.exec(item);
    if (!m) {
      throw new ValidationError([
        { field: name, rule: 'format', message: 'must be * or a list of entity tags such as "7"' },
      ]);
    }
    tags.push({ weak: m[1] !== undefined, opaque: m[2]! });
  }
  if (tags.length === 0) {
    throw new ValidationError([
      { field: name, rule: 'format', message: 'must be * or a list of entity tags' },
    ]);
  }
  return tags;
};

/**
 * `If-None-Match` on a GET of a route at `revision`: true when the caller's copy is current (answer 304).
 * Weak comparison, as §13.1.2 asks for GET.
 */
export const ifNoneMatchHolds = (header: string | undefined, revision: number): boolean => {
  if (header === undefined) return false;
  const tags = parseTags(header, 'If-None-Match');
  if (tags === '*') return true;
  const current = etagOf(revision);
  return tags.some((t) => t.opaque === current);
};

const REVISION_TAG = /^"([1-9]\d{0,14})"$/;

/**
 * A write's precondition from its `If-Match` / `If-None-Match` headers; undefined when it has none.
 * `If-Match` compares strongly (§13.1.1): a weak tag, or one this API never issued, matches nothing.
 * `If-None-Match: *` (create-only) is accepted only where `createOnly` is allowed (POST /api/v1/routes);
 * other `If-None-Match` forms on a write, or both headers at once, are a 400 rather than ignored.
 */
export const writePreconditionOf = (
  headers: Readonly<Record<string, string | undefined>>,
  opts: { readonly createOnly: boolean },
): WritePrecondition | undefined => {
  const ifMatch = headers['if-match'];
  const ifNoneMatch = headers['if-none-match'];
  if (ifMatch !== undefined && ifNoneMatch !== undefined) {
    throw new ValidationError([
      {
        field: 'If-None-Match',
        rule: 'conflict',
        message: 'send either If-Match or If-None-Match, not both',
      },
    ]);
  }
  if (ifNoneMatch !== undefined) {
    if (!opts.createOnly || parseTags(ifNoneMatch, 'If-None-Match') !== '*') {
      throw new ValidationError([
        {
          field: 'If-None-Match',
          rule: 'unsupported',
          message: 'only If-None-Match: * on POST /api/v1/routes (create only) is supported on writes',
        },
      ]);
    }
    return { kind: 'absent' };
  }
  if (ifMatch === undefined) return undefined;
  const tags = parseTags(ifMatch, 'If-Match');
  if (tags === '*') return { kind: 'exists' };
  const revisions: number[] = [];
  for (const t of tags) {
    const m = t.weak ? null : REVISION_TAG.exec(t.opaque);
    if (m) revisions.push(Number(m[1]));
  }
  return { kind: 'revision', revisions };
};
