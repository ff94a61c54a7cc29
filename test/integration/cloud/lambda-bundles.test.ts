import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRoutes } from '#functions/route-table';
import { RUNTIME_AWS_SDK_PACKAGES } from '#infra/bundling';
import { type Assembly, synthesize } from '../../../scripts/cloud/assembly.ts';
import { ensureLambdaRuntime, type LambdaRuntime, stageTask } from '../../../scripts/cloud/lambda-runtime.ts';
import { loadBundle } from '../../../scripts/cloud/load-check.ts';
import { localResourceMap, localSecrets } from '../../../scripts/cloud/local-resources.ts';
import { readRestApi } from '../../../scripts/cloud/rest-api.ts';
import { templateFunctions } from '../../../scripts/cloud/template-functions.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'tm-bundles-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let assembly: Assembly;
let runtime: LambdaRuntime;

// The first run on a machine synthesizes with bundling (~1 min) and installs the runtime (~3 min).
beforeAll(async () => {
  [assembly, runtime] = await Promise.all([synthesize(root, 'local', () => {}), ensureLambdaRuntime()]);
}, 600_000);

const endpoints = {
  postgres: { host: '127.0.0.1', port: 5432 },
  redis: { host: '127.0.0.1', port: 6379 },
  kafkaBrokers: '127.0.0.1:9092',
  mongo: { host: '127.0.0.1', port: 27017 },
  localAws: 'http://127.0.0.1:1',
};

describe('the functions as cdk deploy uploads them (bundling does not depend on the stage: the local stage shares the synthesis of the e2e suite)', () => {
  it('every function loads from its own bundle on Node 22 where only the runtime SDK resolves', async () => {
    const secrets = localSecrets(assembly.stacks, 'test-seed');
    const fns = templateFunctions(assembly, localResourceMap(endpoints), (id, key) =>
      key ? String(JSON.parse(secrets[id]!)[key]) : secrets[id]!,
    );
    expect(fns.map((f) => f.logicalId).length).toBeGreaterThanOrEqual(14);
    const failures: string[] = [];
    for (const f of fns) {
      const taskRoot = await stageTask(f.assetDir, f.name);
      // The repository (and its node_modules) is not an ancestor of the task folder.
      expect(taskRoot.startsWith(root), f.name).toBe(false);
      // At most 1 MiB per bundle (a cold-start budget, not a Lambda limit). It was 1 MB until splits, bulk
      // changes and the bundled OpenAPI document took health to 1.02 MB and two write functions just past 1 MB.
      expect(statSync(join(taskRoot, 'index.mjs')).size, `${f.name} bundle size`).toBeLessThanOrEqual(
        1_048_576,
      );
      const env = { ...f.environment, AWS_LAMBDA_FUNCTION_NAME: f.name, AWS_REGION: 'us-east-1' };
      const result = await loadBundle(runtime, taskRoot, f.handler, env);
      if (!result.ok) failures.push(`${f.name}: ${result.output.split('\n').slice(0, 3).join(' | ')}`);
    }
    expect(failures).toEqual([]);
  }, 300_000);

  it('a function whose template lacks a binding fails its cold start naming every missing setting', async () => {
    const secrets = localSecrets(assembly.stacks, 'test-seed');
    const tokens = templateFunctions(assembly, localResourceMap(endpoints), (id, key) =>
      key ? String(JSON.parse(secrets[id]!)[key]) : secrets[id]!,
    ).find((f) => f.logicalId.startsWith('tokens'))!;
    // The defect the local cloud exists to catch: tokens rate-limits through Redis but had no cache binding.
    const { REDIS_URL: _url, CACHE_BACKEND: _backend, ...withoutCache } = tokens.environment;
    const result = await loadBundle(runtime, await stageTask(tokens.assetDir, tokens.name), tokens.handler, {
      ...withoutCache,
      AWS_LAMBDA_FUNCTION_NAME: tokens.name,
      AWS_REGION: 'us-east-1',
    });
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/ConfigError/);
    expect(result.output).toMatch(/REDIS_URL/);
  }, 60_000);

  it('a bundle importing a package the runtime lacks fails to load (the check can fail)', async () => {
    const asset = join(scratch, 'asset');
    mkdirSync(asset, { recursive: true });
    writeFileSync(join(asset, 'index.mjs'), "import 'kafkajs';\nexport const handler = async () => 1;\n");
    const result = await loadBundle(runtime, await stageTask(asset, 'imports-kafkajs'), 'index.handler', {});
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/Cannot find package 'kafkajs'/);
  });

  it('the local runtime provides exactly the SDK packages the bundles leave external', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'scripts/cloud/runtime/package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const provided = Object.keys(manifest.dependencies).filter((d) => d.startsWith('@aws-sdk/'));
    expect(provided.sort()).toEqual([...RUNTIME_AWS_SDK_PACKAGES].sort());
  });
});

describe("the API the local cloud serves is the template's", () => {
  const apiStack = () =>
    assembly.stacks.find((s) =>
      Object.values(s.template.Resources).some((r) => r.Type === 'AWS::ApiGateway::RestApi'),
    )!;

  it("has exactly the route table's methods, each behind the authorizer unless public", () => {
    const model = readRestApi(apiStack());
    const served = model.methods.map(
      (m) => `${m.httpMethod} ${m.path} ${m.authorizerId ? 'guarded' : 'public'}`,
    );
    const declared = httpRoutes.map(
      (r) => `${r.method} ${r.path} ${r.permission === 'public' ? 'public' : 'guarded'}`,
    );
    expect(served.sort()).toEqual(declared.sort());
    expect(Object.values(model.authorizers).map((a) => [a.identityHeaders, a.ttlMs])).toEqual([
      [['authorization'], 60_000],
    ]);
  });

  it('stops serving a method the template drops (a route missing from the stack is a 404 locally too)', () => {
    const stack = apiStack();
    const [resolveId] = Object.entries(stack.template.Resources).find(
      ([id, r]) => r.Type === 'AWS::ApiGateway::Method' && id.includes('resolveGET'),
    )!;
    const { [resolveId]: _dropped, ...rest } = stack.template.Resources;
    const model = readRestApi({ ...stack, template: { ...stack.template, Resources: rest } });
    expect(model.methods.some((m) => m.path === '/api/v1/routes/resolve')).toBe(false);
    expect(model.methods).toHaveLength(httpRoutes.length - 1);
  });
});
