import { readFile } from 'node:fs/promises';
import { getConfig } from '#shared/config/config';
import { PackagedFileError } from '#shared/domain/errors';
import { openApiDocumentFile } from '../openapi/paths.ts';

const file = openApiDocumentFile(getConfig().taskRoot);
let document: Promise<unknown> | undefined;

/**
 * The committed OpenAPI document, read on first use and kept for the container's life (a missing or broken
 * file is read again next time: it can only be fixed by a new deploy, but must not stick as a rejection).
 */
export const openApiDocument = (): Promise<unknown> => {
  document ??= readFile(file, 'utf8')
    .then((text): unknown => JSON.parse(text))
    .catch((error: unknown) => {
      document = undefined;
      throw new PackagedFileError(
        'the OpenAPI document is not in this function package',
        {},
        { cause: new Error(`${file}: ${error instanceof Error ? error.message : String(error)}`) },
      );
    });
  return document;
};
