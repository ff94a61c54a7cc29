import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPERATION_METHODS, TrafficManagerClient } from '#client/client';
import { generateTypes, OUTPUT_PATH, SPEC_PATH } from '../../../clients/typescript/scripts/generate-types.ts';

const operationIds = (): string[] => {
  const doc = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as {
    paths: Record<string, Record<string, { operationId?: string }>>;
  };
  return Object.values(doc.paths).flatMap((item) =>
    Object.values(item).flatMap((op) => (typeof op === 'object' && op?.operationId ? [op.operationId] : [])),
  );
};

describe('the client against docs/openapi.json', () => {
  it('has generated types that match the document (run `npm run generate -w @traffic-manager/client`)', async () => {
    expect(readFileSync(OUTPUT_PATH, 'utf8')).toBe(await generateTypes());
  }, 30_000);

  it('serves every operation of the document with a method, and no operation the document lacks', () => {
    const ids = operationIds();
    expect(ids.length).toBeGreaterThan(15);
    expect(Object.keys(OPERATION_METHODS).sort()).toEqual([...ids].sort());
    for (const method of Object.values(OPERATION_METHODS)) {
      expect(typeof TrafficManagerClient.prototype[method], method).toBe('function');
    }
  });
});
