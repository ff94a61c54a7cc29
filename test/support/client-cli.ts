import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = join(root, 'clients/typescript');

/** The workspace's bin link, what `npx traffic-manager` runs: clients/typescript/dist/cli.js. */
export const CLIENT_BIN = join(root, 'node_modules/.bin/traffic-manager');

const newest = (path: string): number =>
  statSync(path).isDirectory()
    ? Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))))
    : statSync(path).mtimeMs;

/**
 * Builds the client package (its own `npm run build`, as `npm install` runs it) when `dist/` is older
 * than its sources. After `npm ci` it is current and nothing runs, so test files that spawn the CLI side
 * by side never see one of them rewrite `dist/` under the other.
 */
export const ensureClientBuilt = async (): Promise<void> => {
  const built = join(pkg, 'dist/cli.js');
  const sources = Math.max(newest(join(pkg, 'src')), newest(join(pkg, 'tsconfig.build.json')));
  if (!existsSync(built) || statSync(built).mtimeMs < sources) {
    await promisify(execFile)('npm', ['run', 'build', '-w', '@traffic-manager/client'], { cwd: root });
  }
  if (!existsSync(CLIENT_BIN))
    throw new Error(`${CLIENT_BIN} is missing: run npm install to link the workspace's bin`);
};

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Spawns the CLI's bin as a pipeline would, with only PATH and `env` in its environment; resolves with
 * its exit code and output (a non-zero exit is a result here, not an error).
 */
export const spawnCli = async (
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 20_000,
  /** Written to the CLI's standard input, which is then closed (`--file -`). */
  input?: string,
): Promise<CliRun> => {
  try {
    const running = promisify(execFile)(CLIENT_BIN, [...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: timeoutMs,
    });
    if (input !== undefined) running.child.stdin?.end(input);
    const { stdout, stderr } = await running;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
};
