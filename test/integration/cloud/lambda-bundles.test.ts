import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAPI_PACKAGE_FILE, OPENAPI_PATH } from '#functions/openapi/paths';
import { httpRoutes } from '#functions/route-table';
import { RUNTIME_AWS_SDK_PACKAGES } from '#infra/bundling';
import { type Assembly, synthesize } from '../../../scripts/cloud/assembly.ts';
import { startFunction } from '../../../scripts/cloud/lambda-container.ts';
import { ensureLambdaRuntime, type LambdaRuntime, stageTask } from '../../../scripts/cloud/lambda-runtime.ts';
import { loadBundle } from '../../../scripts/cloud/load-check.ts';
import { localResourceMap, localSecrets } from '../../../scripts/cloud/local-resources.ts';
import { readRestApi } from '../../../scripts/cloud/rest-api.ts';
import { type TemplateFunction, templateFunctions } from '../../../scripts/cloud/template-functions.ts';

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

const deployedFunctions = (): TemplateFunction[] => {
  const secrets = localSecrets(assembly.stacks, 'test-seed');
  return templateFunctions(assembly, localResourceMap(endpoints), (id, key) =>
    key ? String(JSON.parse(secrets[id]!)[key]) : secrets[id]!,
  );
};

/** The cold-start budget per bundle (index.mjs): 1 MB, a budget rather than a Lambda limit. */
const BUNDLE_BUDGET_BYTES = 1_000_000;

describe('the functions as cdk deploy uploads them (bundling does not depend on the stage: the local stage shares the synthesis of the e2e suite)', () => {
  it('every function loads from its own bundle on Node 22 where only the runtime SDK resolves', async () => {
    const fns = deployedFunctions();
    expect(fns.map((f) => f.logicalId).length).toBeGreaterThanOrEqual(14);
    const failures: string[] = [];
    for (const f of fns) {
      const taskRoot = await stageTask(f.assetDir, f.name);
      // The repository (and its node_modules) is not an ancestor of the task folder.
      expect(taskRoot.startsWith(root), f.name).toBe(false);
      // What makes the bundles big, and what was trimmed to keep them within this: docs/deploying.md.
      expect(statSync(join(taskRoot, 'index.mjs')).size, `${f.name} bundle size`).toBeLessThanOrEqual(
        BUNDLE_BUDGET_BYTES,
      );
      const env = { ...f.environment, AWS_LAMBDA_FUNCTION_NAME: f.name, AWS_REGION: 'us-east-1' };
      const result = await loadBundle(runtime, taskRoot, f.handler, env);
      if (!result.ok) failures.push(`${f.name}: ${result.output.split('\n').slice(0, 3).join(' | ')}`);
    }
    expect(failures).toEqual([]);
  }, 300_000);

  it('health serves the OpenAPI document shipped next to its bundle; without the file, a 500 in JSON and a log line', async () => {
    const health = deployedFunctions().find((f) => f.logicalId.startsWith('health'))!;
    const shipped = await stageTask(health.assetDir, health.name);
    const committed = readFileSync(join(root, OPENAPI_PATH), 'utf8');
    expect(readFileSync(join(shipped, OPENAPI_PACKAGE_FILE), 'utf8')).toBe(committed);
    const incomplete = join(scratch, 'health-without-document');
    cpSync(health.assetDir, incomplete, { recursive: true });
    rmSync(join(incomplete, OPENAPI_PACKAGE_FILE));

    const getDocument = async (taskRoot: string) => {
      const logs: string[] = [];
      const fn = startFunction({
        name: health.name,
        taskRoot,
        handler: health.handler,
        environment: health.environment,
        timeoutMs: 10_000,
        memoryMb: health.memoryMb,
        runtime,
        onLog: (line) => logs.push(line),
      });
      try {
        const event = {
          resource: '/openapi.json',
          path: '/openapi.json',
          httpMethod: 'GET',
          headers: {},
          queryStringParameters: null,
          multiValueQueryStringParameters: null,
          body: null,
          isBase64Encoded: false,
          requestContext: { requestId: 'bundle-test', stage: 'local' },
        };
        const first = await fn.invoke(event);
        const second = await fn.invoke(event);
        return { first, second, logs };
      } finally {
        await fn.stop();
      }
    };
    type Answer = { statusCode: number; headers: Record<string, string>; body: string };
    const answerOf = (r: Awaited<ReturnType<typeof getDocument>>['first']): Answer => {
      if (!r.ok) throw new Error(`${r.kind}: ${r.errorType} ${r.errorMessage}`);
      return r.payload as Answer;
    };

    const served = await getDocument(shipped);
    for (const r of [served.first, served.second]) {
      expect(answerOf(r).statusCode).toBe(200);
      expect(answerOf(r).headers['content-type']).toBe('application/json');
      expect(JSON.parse(answerOf(r).body)).toEqual(JSON.parse(committed));
    }

    const missing = await getDocument(await stageTask(incomplete, `${health.name}-without-document`));
    // Both requests answered by the same warm container: the handler neither crashed nor cached the failure.
    for (const r of [missing.first, missing.second]) {
      expect(answerOf(r).statusCode).toBe(500);
      expect(JSON.parse(answerOf(r).body)).toEqual({
        error: 'packaged_file_unavailable',
        message: 'the OpenAPI document is not in this function package',
      });
    }
    const logged = missing.logs.filter((l) =>
      l.includes('the OpenAPI document is not in this function package'),
    );
    expect(logged).toHaveLength(2);
    expect(logged[0]).toContain(`/${OPENAPI_PACKAGE_FILE}: ENOENT`);
  }, 120_000);

  it('a function whose template lacks a binding fails its cold start naming every missing setting', async () => {
    const tokens = deployedFunctions().find((f) => f.logicalId.startsWith('tokens'))!;
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
