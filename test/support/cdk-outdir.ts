import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dir: string | undefined;

/**
 * Where a test's CDK app synthesizes. An App without `outdir` makes a new `<tmpdir>/cdk.outXXXX` on each
 * synthesis and never removes it (hundreds per suite run). The tests of one process share one directory
 * instead, inside the run's directory that the global setup removes at the end (test workers can be
 * killed before their own exit handler runs).
 */
export const testOutdir = (): string => {
  if (dir) return dir;
  const made = mkdtempSync(join(process.env.TEST_CDK_OUTDIR_ROOT ?? tmpdir(), 'cdk-'));
  process.once('exit', () => rmSync(made, { recursive: true, force: true }));
  dir = made;
  return made;
};
