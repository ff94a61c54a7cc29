import { describe, expect, it } from 'vitest';
import type { HttpRequest } from '#shared/middleware/http';
import { writeContextOf } from '#shared/middleware/write-context';

describe('writeContextOf', () => {
  it("names the token's principal and its id, never a caller-chosen author (issue 16.2)", () => {
    const req = {
      correlationId: 'c-1',
      headers: { 'x-changed-by': 'mallory' },
      principal: { name: 'ci', role: 'writer', tenants: ['t'], tokenId: 'abcdefghijklmnop', expiresAt: null },
    } as unknown as HttpRequest;

    expect(writeContextOf(req)).toEqual({
      changedBy: 'ci',
      changedByTokenId: 'abcdefghijklmnop',
      correlationId: 'c-1',
    });
  });
});
