import { describe, expect, it } from 'vitest';
import { batchRequestSchema, parseBatchRequest } from '#functions/routes/batch-routes.schema';

const key = { tenant: 'team-a', service: 'payments', env: 'prod', version: 'v2' };

describe('the bulk change request', () => {
  it('parses create, activate and deactivate into operations, in order', () => {
    const parsed = parseBatchRequest({
      operations: [
        { op: 'create', ...key, url: 'https://a.example.com' },
        { op: 'activate', ...key, version: 'v3' },
        { op: 'deactivate', ...key, version: 'v4', url: 'ignored' },
      ],
    });
    expect(parsed).toEqual({
      ok: true,
      operations: [
        { op: 'create', key, url: 'https://a.example.com' },
        { op: 'activate', key: { ...key, version: 'v3' } },
        { op: 'deactivate', key: { ...key, version: 'v4' } },
      ],
    });
  });

  it('names every bad operation by index, field and rule', () => {
    const parsed = parseBatchRequest({
      operations: [
        { op: 'create', ...key, url: 'https://a.example.com' },
        { op: 'create', ...key, url: 'javascript:alert(1)' },
        { ...key },
        { op: 'activate', ...key, tenant: 'bad tenant!' },
        [],
      ],
    });
    expect(parsed.ok).toBe(false);
    expect(
      !parsed.ok && 'failures' in parsed && parsed.failures.map((f) => [f.index, f.field, f.rule]),
    ).toEqual([
      [1, 'url', 'format'],
      [2, 'op', 'required'],
      [3, 'tenant', 'format'],
      [4, 'body', 'type'],
    ]);
  });

  it('refuses a body without 1-500 operations as a whole', () => {
    for (const body of [{}, { operations: [] }, { operations: 'x' }, { operations: Array(501).fill({}) }]) {
      const parsed = parseBatchRequest(body);
      expect(parsed.ok).toBe(false);
      expect(!parsed.ok && 'envelope' in parsed && parsed.envelope[0]?.field).toBe('operations');
    }
  });

  it('agrees with the published request schema on what is valid', () => {
    const body = {
      operations: [
        { op: 'create', ...key, url: 'https://a.example.com' },
        { op: 'activate', ...key },
      ],
    };
    expect(batchRequestSchema.safeParse(body).success).toBe(true);
    expect(parseBatchRequest(body).ok).toBe(true);
    const bad = { operations: [{ op: 'rename', ...key }] };
    expect(batchRequestSchema.safeParse(bad).success).toBe(false);
    expect(parseBatchRequest(bad).ok).toBe(false);
  });
});
