import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/domain/errors';
import { etagOf, ifNoneMatchHolds, writePreconditionOf } from '#shared/domain/etag';

describe('route entity tags', () => {
  it('derives a strong, quoted tag from the revision', () => {
    expect(etagOf(7)).toBe('"7"');
  });

  it('answers If-None-Match with weak comparison: a listed or weak tag of the revision, or *', () => {
    expect(ifNoneMatchHolds(undefined, 3)).toBe(false);
    expect(ifNoneMatchHolds('"3"', 3)).toBe(true);
    expect(ifNoneMatchHolds('W/"3"', 3)).toBe(true);
    expect(ifNoneMatchHolds('"1", "3"', 3)).toBe(true);
    expect(ifNoneMatchHolds('"2"', 3)).toBe(false);
    expect(ifNoneMatchHolds('*', 3)).toBe(true);
  });

  it('refuses a malformed conditional header with a 400 naming it', () => {
    expect(() => ifNoneMatchHolds('3', 3)).toThrow(ValidationError);
    expect(() => writePreconditionOf({ 'if-match': 'rev-3' }, { createOnly: false })).toThrow(/If-Match/);
  });
});

describe('write preconditions', () => {
  it('has none without the headers (the write is unconditional)', () => {
    expect(writePreconditionOf({}, { createOnly: true })).toBeUndefined();
  });

  it('reads If-Match as the revisions it names, compared strongly', () => {
    expect(writePreconditionOf({ 'if-match': '"4"' }, { createOnly: false })).toEqual({
      kind: 'revision',
      revisions: [4],
    });
    expect(writePreconditionOf({ 'if-match': '"4", W/"5", "x"' }, { createOnly: false })).toEqual({
      kind: 'revision',
      revisions: [4],
    });
    expect(writePreconditionOf({ 'if-match': '*' }, { createOnly: false })).toEqual({ kind: 'exists' });
  });

  it('reads If-None-Match: * as create-only, on the create only', () => {
    expect(writePreconditionOf({ 'if-none-match': '*' }, { createOnly: true })).toEqual({ kind: 'absent' });
    expect(() => writePreconditionOf({ 'if-none-match': '*' }, { createOnly: false })).toThrow(
      ValidationError,
    );
    expect(() => writePreconditionOf({ 'if-none-match': '"3"' }, { createOnly: true })).toThrow(
      ValidationError,
    );
    expect(() =>
      writePreconditionOf({ 'if-match': '"3"', 'if-none-match': '*' }, { createOnly: true }),
    ).toThrow(ValidationError);
  });
});
