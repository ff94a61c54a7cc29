import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openRotatedLog } from '../../../scripts/cloud/log-file.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const logIn = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tm-log-'));
  dirs.push(dir);
  return join(dir, 'functions.log');
};
const append = (path: string, line: string, maxBytes: number) =>
  new Promise<void>((resolve) => openRotatedLog(path, maxBytes).end(line, resolve));

describe('the local cloud function log', () => {
  it('keeps appending across starts while it is small', async () => {
    const path = logIn();
    await append(path, 'first start\n', 100);
    await append(path, 'second start\n', 100);

    expect(readFileSync(path, 'utf8')).toBe('first start\nsecond start\n');
  });

  it('moves a log past its limit aside at a start, replacing the older one', async () => {
    const path = logIn();
    writeFileSync(`${path}.previous`, 'oldest\n');
    writeFileSync(path, 'x'.repeat(200));

    await append(path, 'this start\n', 100);

    expect(readFileSync(path, 'utf8')).toBe('this start\n');
    expect(readFileSync(`${path}.previous`, 'utf8')).toBe('x'.repeat(200));
  });
});
