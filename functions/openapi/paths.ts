import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The committed document, relative to the repository root (npm scripts and tests run there). */
export const OPENAPI_PATH = 'docs/openapi.json';

/** The API version in the document: the package's. */
export const packageVersion = (): string =>
  (
    JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as {
      version: string;
    }
  ).version;
