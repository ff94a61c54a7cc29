/**
 * Writes docs/openapi.json from the route table, functions/openapi/operations.ts and the handlers' zod
 * schemas (`npm run openapi`); `--check` only says whether the committed file is current (exit 1 if not).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { buildOpenApiDocument } from '#functions/openapi/document';
import { OPENAPI_PATH, packageVersion } from '#functions/openapi/paths';

const document = buildOpenApiDocument(packageVersion());
if (process.argv.includes('--check')) {
  const committed: unknown = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8'));
  if (!isDeepStrictEqual(committed, JSON.parse(JSON.stringify(document)))) {
    console.error(`${OPENAPI_PATH} is out of date: run npm run openapi`);
    process.exit(1);
  }
  console.log(`${OPENAPI_PATH} is current`);
} else {
  writeFileSync(OPENAPI_PATH, `${JSON.stringify(document, null, 2)}\n`);
  // Formatted as the repository's formatter would, so `npm run lint` stays clean.
  execFileSync('npx', ['biome', 'format', '--write', OPENAPI_PATH], { stdio: 'inherit' });
  console.log(`wrote ${OPENAPI_PATH} (${Object.keys(document.paths ?? {}).length} paths)`);
}
