import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FunctionSpec,
  type InvokeResult,
  type LambdaFunction,
  startFunction,
} from '../../../scripts/cloud/lambda-container.ts';
import { ensureLambdaRuntime, type LambdaRuntime, stageTask } from '../../../scripts/cloud/lambda-runtime.ts';

// Tiny ESM bundles standing in for esbuild's output: what matters is how they are loaded and run.
const ASSETS = {
  echo: `
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

const resolves = async (name) => {
  try {
    await import(name);
    return 'resolved';
  } catch (error) {
    return error.code;
  }
};
const requires = (name) => {
  try {
    createRequire(import.meta.url)(name);
    return 'resolved';
  } catch (error) {
    return error.code;
  }
};

export const handler = async (event, context) => {
  if (event.sleepMs) await sleep(event.sleepMs);
  console.log('echo handled', context.awsRequestId);
  const pick = (...names) => Object.fromEntries(names.map((name) => [name, process.env[name]]));
  return {
    event,
    version: process.version,
    pid: process.pid,
    cwd: process.cwd(),
    execArgv: process.execArgv,
    functionName: context.functionName,
    remainingMs: context.getRemainingTimeInMillis(),
    env: pick('LAMBDA_TASK_ROOT', 'LAMBDA_RUNTIME_DIR', 'AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_VERSION',
      'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_LAMBDA_RUNTIME_API', 'AWS_EXECUTION_ENV', '_HANDLER', 'TZ', 'AWS_REGION',
      'TABLE_NAME', 'LEAK_MARKER', 'NODE_PATH', '_X_AMZN_TRACE_ID'),
    imports: {
      kafkajs: await resolves('kafkajs'),
      semver: await resolves('semver'),
      dynamodb: await resolves('@aws-sdk/client-dynamodb'),
      requireKafkajs: requires('kafkajs'),
    },
  };
};
`,
  throws: `
class RouteNotFoundError extends Error {
  name = 'RouteNotFoundError';
}
export const handler = async () => {
  throw new RouteNotFoundError('no route for team-a/payments');
};
`,
  initFails: `
throw new Error('TABLE_NAME is not set');
export const handler = async () => 'unreachable';
`,
};

type Payload = {
  version: string;
  pid: number;
  cwd: string;
  execArgv: string[];
  functionName: string;
  remainingMs: number;
  env: Record<string, string | undefined>;
  imports: Record<string, string>;
};

const payloadOf = (result: InvokeResult): Payload => {
  if (!result.ok) throw new Error(`invoke failed: ${result.errorType}: ${result.errorMessage}`);
  return result.payload as Payload;
};

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('a Lambda function run as Lambda runs it (Node 22, RIC, Runtime API)', () => {
  let runtime: LambdaRuntime;
  let work: string;
  const tasks: Record<keyof typeof ASSETS, string> = { echo: '', throws: '', initFails: '' };
  const functions: LambdaFunction[] = [];
  const logs: string[] = [];

  const start = (
    name: string,
    task: keyof typeof ASSETS,
    spec: Partial<FunctionSpec> = {},
  ): LambdaFunction => {
    const fn = startFunction({
      name,
      taskRoot: tasks[task],
      handler: 'index.handler',
      environment: { TABLE_NAME: 'routes' },
      timeoutMs: 10_000,
      memoryMb: 256,
      runtime,
      onLog: (line) => logs.push(line),
      ...spec,
    });
    functions.push(fn);
    return fn;
  };

  // The first install on a machine runs npm ci and builds the RIC's native client (1–3 minutes on two busy
  // cores), more than the 120 s hookTimeout; later runs find the cached install and take milliseconds.
  beforeAll(async () => {
    runtime = await ensureLambdaRuntime();
    work = await mkdtemp(join(tmpdir(), 'lambda-container-test-'));
    for (const [name, source] of Object.entries(ASSETS)) {
      await mkdir(join(work, name));
      await writeFile(join(work, name, 'index.mjs'), source);
      tasks[name as keyof typeof ASSETS] = await stageTask(join(work, name), name);
    }
  }, 400_000);

  afterAll(async () => {
    await Promise.all(functions.map((fn) => fn.stop()));
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('runs the bundle on Node 22 with the Lambda environment and none of the caller’s', async () => {
    process.env.LEAK_MARKER = 'from-the-test-process';
    const fn = start('echo-env', 'echo', { memoryMb: 512 });

    const result = await fn.invoke({ hello: 'world' });
    delete process.env.LEAK_MARKER;

    const payload = payloadOf(result);
    expect(payload.version).toMatch(/^v22\./);
    expect(payload.cwd).toBe(tasks.echo);
    expect(payload.functionName).toBe('echo-env');
    expect(payload.remainingMs).toBeGreaterThan(8_000);
    expect(payload.env).toMatchObject({
      LAMBDA_TASK_ROOT: tasks.echo,
      LAMBDA_RUNTIME_DIR: runtime.root,
      AWS_LAMBDA_FUNCTION_NAME: 'echo-env',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      _HANDLER: 'index.handler',
      TZ: ':UTC',
      AWS_REGION: 'us-east-1',
      TABLE_NAME: 'routes',
    });
    expect(payload.env.AWS_LAMBDA_RUNTIME_API).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(payload.env._X_AMZN_TRACE_ID).toMatch(/^Root=1-/);
    expect(payload.env.LEAK_MARKER).toBeUndefined();
    expect(payload.env.NODE_PATH).not.toContain('/work/');
    expect(payload.execArgv).toContain('--max-old-space-size=461');
    expect(result).toMatchObject({ ok: true, coldStart: true, payload: { event: { hello: 'world' } } });
    expect(logs).toContainEqual(expect.stringMatching(/^\[echo-env\] START RequestId: /));
    expect(logs).toContainEqual(expect.stringContaining('echo handled'));
  });

  it('resolves the runtime’s AWS SDK but no package of the repository or of the RIC’s build', async () => {
    const fn = start('echo-imports', 'echo');

    const { imports } = payloadOf(await fn.invoke({}));

    expect(imports).toEqual({
      kafkajs: 'ERR_MODULE_NOT_FOUND',
      semver: 'ERR_MODULE_NOT_FOUND',
      dynamodb: 'resolved',
      requireKafkajs: 'MODULE_NOT_FOUND',
    });
  });

  it('reuses a warm container for the next invoke', async () => {
    const fn = start('echo-warm', 'echo');

    const coldStartedAt = performance.now();
    const cold = await fn.invoke({ n: 1 });
    const coldMs = performance.now() - coldStartedAt;
    const warmStartedAt = performance.now();
    const warm = await fn.invoke({ n: 2 });
    const warmMs = performance.now() - warmStartedAt;

    expect(payloadOf(warm).pid).toBe(payloadOf(cold).pid);
    expect(warm).toMatchObject({ ok: true, coldStart: false });
    expect(warmMs).toBeLessThan(coldMs / 3);
    expect(fn.stats()).toMatchObject({ invocations: 2, coldStarts: 1, containers: 1 });
    expect(fn.stats().coldStartMs.toFirstNext).toHaveLength(1);
    expect(fn.stats().coldStartMs.toFirstResponse).toHaveLength(1);
  });

  it('reports a handler error with its type, message and trace and keeps the container', async () => {
    const fn = start('throws', 'throws');

    const first = await fn.invoke({});
    const second = await fn.invoke({});

    expect(first).toMatchObject({
      ok: false,
      kind: 'function',
      errorType: 'RouteNotFoundError',
      errorMessage: 'no route for team-a/payments',
    });
    expect(first.ok || first.trace?.[0]).toContain('RouteNotFoundError');
    expect(second).toMatchObject({ ok: false, kind: 'function' });
    expect(fn.stats()).toMatchObject({ coldStarts: 1, failures: { function: 2 } });
  });

  it('kills a run past its timeout, reports Sandbox.Timedout and starts the next invoke cold', async () => {
    const fn = start('sleeps', 'echo', { timeoutMs: 1_000 });
    const before = payloadOf(await fn.invoke({}));

    const timedOut = await fn.invoke({ sleepMs: 5_000 });
    const after = await fn.invoke({});

    expect(timedOut).toMatchObject({ ok: false, kind: 'timeout', errorType: 'Sandbox.Timedout' });
    expect(timedOut.ok || timedOut.errorMessage).toMatch(
      /^RequestId: \S+ Error: Task timed out after 1\.00 seconds$/,
    );
    await expect.poll(() => isAlive(before.pid)).toBe(false);
    expect(after).toMatchObject({ ok: true, coldStart: true });
    expect(payloadOf(after).pid).not.toBe(before.pid);
  });

  it('reports an init error and tries a fresh cold start on the next invoke', async () => {
    const fn = start('init-fails', 'initFails');

    const first = await fn.invoke({});
    const second = await fn.invoke({});

    for (const result of [first, second]) {
      expect(result).toMatchObject({ ok: false, kind: 'init', errorType: 'Error' });
      expect(result.ok || result.errorMessage).toContain('TABLE_NAME is not set');
    }
    expect(fn.stats()).toMatchObject({ coldStarts: 2, containers: 0, failures: { init: 2 } });
  });

  it('never runs more containers than the reserved concurrency, queueing when asked to', async () => {
    const fn = start('reserved', 'echo', { maxConcurrency: 2 });

    const results = await Promise.all(
      Array.from({ length: 4 }, (_, n) => fn.invoke({ n, sleepMs: 1_500 }, { whenThrottled: 'queue' })),
    );

    const pids = new Set(results.map((result) => payloadOf(result).pid));
    expect(pids.size).toBe(2);
    expect(fn.stats()).toMatchObject({ peakContainers: 2, coldStarts: 2, queued: 0 });
  });

  it('throttles beyond the reserved concurrency as a synchronous Invoke does', async () => {
    const fn = start('throttled', 'echo', { maxConcurrency: 2 });

    const results = await Promise.all(Array.from({ length: 4 }, () => fn.invoke({ sleepMs: 1_500 })));

    expect(results.filter((result) => result.ok)).toHaveLength(2);
    expect(results.filter((result) => !result.ok)).toEqual([
      expect.objectContaining({ kind: 'throttle', errorType: 'TooManyRequestsException' }),
      expect.objectContaining({ kind: 'throttle', errorType: 'TooManyRequestsException' }),
    ]);
    expect(fn.stats().peakContainers).toBe(2);
  });
});
