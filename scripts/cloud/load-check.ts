import { execFile } from 'node:child_process';
import type { LambdaRuntime } from './lambda-runtime.ts';

export interface LoadResult {
  readonly ok: boolean;
  readonly output: string;
}

/**
 * Imports a staged bundle on the runtime's Node, as the runtime's init does, with only the given environment
 * (the template's, resolved) and checks that its handler export is a function. Module scope runs: the
 * composition root parses its configuration and builds its clients, which connect lazily.
 */
export const loadBundle = (
  runtime: LambdaRuntime,
  taskRoot: string,
  handler: string,
  environment: Readonly<Record<string, string>>,
): Promise<LoadResult> => {
  const dot = handler.lastIndexOf('.');
  const file = `./${handler.slice(0, dot)}.mjs`;
  const exported = handler.slice(dot + 1);
  const script = `const m = await import(${JSON.stringify(file)});
if (typeof m[${JSON.stringify(exported)}] !== 'function') { console.error('no handler export ${exported}'); process.exit(2); }
console.log('loaded');`;
  return new Promise((resolve) => {
    execFile(
      runtime.nodeBinary,
      ['--input-type=module', '-e', script],
      {
        cwd: taskRoot,
        env: { PATH: process.env.PATH ?? '', LAMBDA_TASK_ROOT: taskRoot, ...environment },
        timeout: 30_000,
      },
      (err, stdout, stderr) =>
        resolve({ ok: !err && stdout.includes('loaded'), output: `${stdout}${stderr}` }),
    );
  });
};
