import { vi } from 'vitest';

/** Captures everything written to stdout and stderr until the spies are restored (vi.restoreAllMocks). */
export const captureOutput = (): { lines: string[] } => {
  const lines: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  return { lines };
};
