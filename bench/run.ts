// `npm run bench`: every benchmark, one run each; results under bench/results/.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const suites = [
  'core.ts',
  'split.ts',
  'propagation.ts',
  'writes.ts',
  'cloud.ts',
  'cloud-writes.ts',
  'client.ts',
].filter((f) => existsSync(`${here}${f}`));
let failed = false;
for (const suite of suites) {
  console.log(`\n== bench/${suite}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', `${here}${suite}`], { stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
