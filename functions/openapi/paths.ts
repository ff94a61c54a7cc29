import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The committed document, relative to the repository root (npm scripts and tests run there). */
export const OPENAPI_PATH = 'docs/openapi.json';

/**
 * Where the health function's package holds the document: infra copies OPENAPI_PATH next to the bundle
 * (/var/task/openapi.json) rather than bundling it, which kept 84 KB of JSON in every cold start.
 */
export const OPENAPI_PACKAGE_FILE = 'openapi.json';

/** The document the running code serves: the function package's (LAMBDA_TASK_ROOT), else the repository's. */
export const openApiDocumentFile = (taskRoot: string | undefined): string =>
  taskRoot
    ? join(taskRoot, OPENAPI_PACKAGE_FILE)
    : fileURLToPath(new URL(`../../${OPENAPI_PATH}`, import.meta.url));

/** The API version in the document: the package's. */
export const packageVersion = (): string =>
  (
    JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as {
      version: string;
    }
  ).version;
