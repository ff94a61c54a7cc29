import { createWriteStream, renameSync, statSync, type WriteStream } from 'node:fs';

/** Past this size a start moves the function log aside: one load test writes hundreds of MB to it. */
export const FUNCTION_LOG_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Opens `path` for appending, first moving it to `<path>.previous` (replacing an older one) when it has
 * grown past `maxBytes`: the log keeps recent starts across restarts without growing without bound.
 */
export const openRotatedLog = (path: string, maxBytes = FUNCTION_LOG_MAX_BYTES): WriteStream => {
  const size = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
  if (size > maxBytes) renameSync(path, `${path}.previous`);
  return createWriteStream(path, { flags: 'a' });
};
