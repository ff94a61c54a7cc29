import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** A CloudFormation resource as the synthesized template holds it. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { Value: unknown; Export?: { Name: string } }>;
}

export interface StackArtifact {
  readonly stackName: string;
  readonly template: CfnTemplate;
}

/** The synthesized app: every stack's template and the folder holding the Lambda assets. */
export interface Assembly {
  readonly dir: string;
  readonly stacks: readonly StackArtifact[];
  /** The asset folder a function's `Code.S3Key` names (`<hash>.zip` → `asset.<hash>`). */
  assetDir(s3Key: string): string;
}

/** What a synthesis depends on: a change to any of these re-synthesizes (and re-bundles). */
const INPUTS = [
  'infra',
  'functions',
  'shared',
  'migrations',
  // Shipped next to the health function's bundle.
  'docs/openapi.json',
  'package-lock.json',
  'cdk.json',
  'tsconfig.json',
];

const filesUnder = (root: string, path: string): string[] => {
  const full = join(root, path);
  if (!existsSync(full)) return [];
  if (statSync(full).isFile()) return [path];
  return readdirSync(full)
    .sort()
    .flatMap((name) => filesUnder(root, join(path, name)));
};

/** Content hash of everything the stage's synthesis reads. */
export const inputHash = (root: string, stage: string): string => {
  const hash = createHash('sha256').update(stage).update('\0');
  for (const file of INPUTS.flatMap((p) => filesUnder(root, p))) {
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(root, file)))
      .update('\0');
  }
  return hash.digest('hex').slice(0, 16);
};

const runSynth = (root: string, stage: string, outdir: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cloud/synth-app.ts', outdir, stage], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`cdk synth of stage ${stage} failed (exit ${code}):\n${output}`)),
    );
  });

export const readAssembly = (dir: string): Assembly => {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string }; displayName?: string }>;
  };
  const stacks = Object.entries(manifest.artifacts)
    .filter(([, a]) => a.type === 'aws:cloudformation:stack' && a.properties?.templateFile)
    .map(([name, a]) => ({
      stackName: name,
      template: JSON.parse(readFileSync(join(dir, a.properties!.templateFile!), 'utf8')) as CfnTemplate,
    }));
  return {
    dir,
    stacks,
    assetDir: (s3Key) => {
      const folder = join(dir, `asset.${s3Key.replace(/\.zip$/, '')}`);
      if (!existsSync(folder)) throw new Error(`asset ${s3Key} is not in ${relative(process.cwd(), dir)}`);
      return folder;
    },
  };
};

/**
 * Synthesizes the stage with real bundling into `.local/cloud/<input hash>/` unless that folder exists
 * already: an unchanged tree starts without esbuild or CDK. Older assemblies are removed.
 */
export const synthesize = async (
  root: string,
  stage: string,
  say: (line: string) => void,
): Promise<Assembly> => {
  const base = join(root, '.local', 'cloud');
  const hash = inputHash(root, stage);
  const dir = join(base, `${stage}-${hash}`);
  if (!existsSync(join(dir, 'manifest.json'))) {
    say(`synthesizing stage ${stage} (cdk synth with bundling; cached as .local/cloud/${stage}-${hash})`);
    const started = Date.now();
    mkdirSync(base, { recursive: true });
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    await runSynth(root, stage, tmp);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    say(`synthesized in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const old of readdirSync(base)) {
      if (old.startsWith(`${stage}-`) && join(base, old) !== dir && !old.includes('.tmp-')) {
        rmSync(join(base, old), { recursive: true, force: true });
      }
    }
  } else {
    say(`stage ${stage}: synthesized assembly is up to date (.local/cloud/${stage}-${hash})`);
  }
  return readAssembly(dir);
};
