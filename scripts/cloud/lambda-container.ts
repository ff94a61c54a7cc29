import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { LambdaRuntime } from './lambda-runtime.ts';

export interface FunctionSpec {
  /** The function name (AWS_LAMBDA_FUNCTION_NAME, log prefix). */
  readonly name: string;
  /** A folder staged with stageTask(): the function's /var/task. */
  readonly taskRoot: string;
  /** `file.export`, as in the template (e.g. `index.handler`). */
  readonly handler: string;
  /** The template's environment, already resolved by the caller. */
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly memoryMb: number;
  /** Reserved concurrency. Undefined = unreserved, capped locally at {@link LOCAL_CONCURRENCY_CAP}. */
  readonly maxConcurrency?: number;
  readonly runtime: LambdaRuntime;
  readonly region?: string;
  readonly accountId?: string;
  /** Each stdout/stderr line of every container, plus START/END/REPORT, prefixed with the function name. */
  readonly onLog?: (line: string) => void;
}

/**
 * Why an invoke failed: the handler threw (`function`), the module or its cold start failed (`init`), the run
 * passed its timeout (`timeout`), the runtime process died (`crash`), or reserved concurrency was exhausted
 * (`throttle`; Lambda answers that with TooManyRequestsException, which API Gateway turns into 429/500).
 */
export type FailureKind = 'function' | 'init' | 'timeout' | 'crash' | 'throttle';

export type InvokeResult =
  | { readonly ok: true; readonly payload: unknown; readonly requestId: string; readonly coldStart: boolean }
  | {
      readonly ok: false;
      readonly kind: FailureKind;
      readonly errorType: string;
      readonly errorMessage: string;
      readonly trace?: readonly string[];
      readonly requestId?: string;
    };

export interface InvokeOptions {
  /**
   * When reserved concurrency is exhausted: `reject` as a synchronous Invoke does (API Gateway), or `queue` as
   * an event source mapping does (it polls no faster than the function's concurrency allows). Default `reject`.
   * Unreserved functions always queue at the local cap: that cap is this machine's limit, not Lambda's.
   */
  readonly whenThrottled?: 'reject' | 'queue';
}

export interface FunctionStats {
  readonly name: string;
  readonly memoryMb: number;
  readonly invocations: number;
  readonly failures: Readonly<Record<FailureKind, number>>;
  /** Containers started (cold starts, failed inits included), alive now, and the most alive at once. */
  readonly coldStarts: number;
  readonly containers: number;
  readonly peakContainers: number;
  readonly queued: number;
  /** Per cold start, ms from spawn to the runtime's first `next` (init done) and to its first answer. */
  readonly coldStartMs: {
    readonly toFirstNext: readonly number[];
    readonly toFirstResponse: readonly number[];
  };
}

export interface LambdaFunction {
  readonly name: string;
  readonly memoryMb: number;
  invoke(event: unknown, options?: InvokeOptions): Promise<InvokeResult>;
  stats(): FunctionStats;
  /** Kills every container and closes their Runtime API servers; queued invokes are rejected. */
  stop(): Promise<void>;
}

/** Concurrency of an unreserved function on this machine (Lambda's account limit would be 1000). */
export const LOCAL_CONCURRENCY_CAP = 8;
/** Lambda gives on-demand init 10 s; past that the invoke's own timeout starts counting. */
const INIT_LIMIT_MS = 10_000;
/** Lambda's synchronous response limit. */
const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
const API = '/2018-06-01/runtime';

/** Starts nothing yet: containers are created on the first invokes (cold starts) and reused while warm. */
export const startFunction = (spec: FunctionSpec): LambdaFunction => new FunctionPool(spec);

interface Job {
  readonly body: string;
  readonly resolve: (result: InvokeResult) => void;
  readonly reject: (error: Error) => void;
}

class FunctionPool implements LambdaFunction {
  readonly name: string;
  readonly memoryMb: number;
  private readonly limit: number;
  private readonly containers = new Set<Container>();
  private readonly idle: Container[] = [];
  private readonly queue: Job[] = [];
  private readonly toFirstNext: number[] = [];
  private readonly toFirstResponse: number[] = [];
  private readonly failures: Record<FailureKind, number> = {
    function: 0,
    init: 0,
    timeout: 0,
    crash: 0,
    throttle: 0,
  };
  private invocations = 0;
  private spawned = 0;
  private peak = 0;
  private stopped = false;

  constructor(private readonly spec: FunctionSpec) {
    this.name = spec.name;
    this.memoryMb = spec.memoryMb;
    this.limit = Math.max(1, Math.min(spec.maxConcurrency ?? LOCAL_CONCURRENCY_CAP, LOCAL_CONCURRENCY_CAP));
  }

  invoke(event: unknown, options: InvokeOptions = {}): Promise<InvokeResult> {
    if (this.stopped) return Promise.reject(new Error(`function ${this.name} is stopped`));
    this.invocations += 1;
    const body = JSON.stringify(event) ?? 'null';
    return new Promise<InvokeResult>((resolve, reject) => {
      const job: Job = { body, resolve, reject };
      const warm = this.idle.pop();
      if (warm) return this.run(warm, job);
      if (this.containers.size < this.limit) return this.run(this.coldStart(), job);
      if (this.spec.maxConcurrency !== undefined && (options.whenThrottled ?? 'reject') === 'reject') {
        this.failures.throttle += 1;
        return resolve({
          ok: false,
          kind: 'throttle',
          errorType: 'TooManyRequestsException',
          errorMessage: 'Rate Exceeded.',
        });
      }
      this.queue.push(job);
    });
  }

  stats(): FunctionStats {
    return {
      name: this.name,
      memoryMb: this.memoryMb,
      invocations: this.invocations,
      coldStarts: this.spawned,
      failures: { ...this.failures },
      containers: this.containers.size,
      peakContainers: this.peak,
      queued: this.queue.length,
      coldStartMs: { toFirstNext: [...this.toFirstNext], toFirstResponse: [...this.toFirstResponse] },
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const job of this.queue.splice(0)) job.reject(new Error(`function ${this.name} stopped`));
    this.idle.length = 0;
    await Promise.all([...this.containers].map((container) => container.kill()));
    this.containers.clear();
  }

  private coldStart(): Container {
    const container = new Container(this.spec, {
      onInitDone: (ms) => this.toFirstNext.push(ms),
      onFirstResponse: (ms) => this.toFirstResponse.push(ms),
      onExit: () => this.forget(container),
    });
    this.containers.add(container);
    this.spawned += 1;
    this.peak = Math.max(this.peak, this.containers.size);
    return container;
  }

  private run(container: Container, job: Job): void {
    void container.run(job.body).then((result) => {
      if (!result.ok) this.failures[result.kind] += 1;
      // A container that timed out, crashed or failed init is discarded: the next invoke starts cold.
      if (!container.usable) this.forget(container);
      job.resolve(result);
      if (this.stopped) return;
      const next = this.queue.shift();
      if (!next) {
        if (container.usable) this.idle.push(container);
        return;
      }
      this.run(container.usable ? container : this.coldStart(), next);
    });
  }

  private forget(container: Container): void {
    this.containers.delete(container);
    const at = this.idle.indexOf(container);
    if (at >= 0) this.idle.splice(at, 1);
  }
}

interface ContainerHooks {
  onInitDone(ms: number): void;
  onFirstResponse(ms: number): void;
  onExit(): void;
}

interface Invocation {
  readonly id: string;
  readonly body: string;
  readonly cold: boolean;
  dispatched: boolean;
  timer?: NodeJS.Timeout;
  clockStartedAt?: number;
  deadline?: number;
  readonly settle: (result: InvokeResult) => void;
}

/** One execution environment: a Runtime API server on 127.0.0.1 and the RIC process it drives. */
class Container {
  private readonly server: Server;
  private readonly spawnedAt = Date.now();
  private readonly logStream: string;
  private child: ChildProcess | undefined;
  private readonly exited: Promise<void>;
  private markExited: () => void = () => {};
  private waitingNext: ServerResponse | undefined;
  private current: Invocation | undefined;
  private initError: { errorType: string; errorMessage: string; trace?: string[] } | undefined;
  private initGuard: NodeJS.Timeout | undefined;
  private firstNextAt: number | undefined;
  private answered = false;
  private dead = false;
  private gone = false;

  constructor(
    private readonly spec: FunctionSpec,
    private readonly hooks: ContainerHooks,
  ) {
    const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
    this.logStream = `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
    this.exited = new Promise((resolve) => {
      this.markExited = resolve;
    });
    // A request that breaks off mid-body only loses its own connection.
    this.server = createServer((req, res) => {
      this.route(req, res).catch(() => res.destroy());
    });
    this.server.listen(0, '127.0.0.1', () => this.spawnRuntime());
  }

  /** False once the container timed out, crashed or failed init. */
  get usable(): boolean {
    return !this.dead;
  }

  run(body: string): Promise<InvokeResult> {
    return new Promise((resolve) => {
      const invocation: Invocation = {
        id: randomUUID(),
        body,
        cold: this.firstNextAt === undefined,
        dispatched: false,
        settle: (result) => {
          if (this.current !== invocation) return;
          this.current = undefined;
          clearTimeout(invocation.timer);
          clearTimeout(this.initGuard);
          this.report(invocation, result);
          resolve(result);
        },
      };
      this.current = invocation;
      this.log(`START RequestId: ${invocation.id} Version: $LATEST`);
      if (this.waitingNext) {
        this.dispatch();
      } else if (invocation.cold) {
        // Init past Lambda's 10 s does not fail by itself; the invoke's timeout then starts counting.
        const left = Math.max(0, this.spawnedAt + INIT_LIMIT_MS - Date.now());
        this.initGuard = setTimeout(() => this.startClock(invocation), left);
      }
    });
  }

  /** SIGKILL, as Lambda does at a timeout; resolves when the process is gone and the server closed. */
  kill(): Promise<void> {
    this.dead = true;
    this.waitingNext?.destroy();
    this.child?.kill('SIGKILL');
    return this.exited;
  }

  private spawnRuntime(): void {
    if (this.dead) {
      this.onExit(null, 'SIGKILL'); // stopped before it started
      return;
    }
    const { runtime, handler, taskRoot, memoryMb, environment } = this.spec;
    const { port } = this.server.address() as AddressInfo;
    const child = spawn(
      runtime.nodeBinary,
      [...nodeArgs(memoryMb, environment.NODE_OPTIONS), runtime.ricEntry, handler],
      {
        cwd: taskRoot,
        env: this.lambdaEnvironment(`127.0.0.1:${port}`),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => this.log(line));
    }
    child.once('error', (error) => this.onExit(null, null, error));
    child.once('exit', (code, signal) => this.onExit(code, signal));
  }

  /** Only what Lambda sets (plus PATH): nothing of this process's environment leaks in. */
  private lambdaEnvironment(runtimeApi: string): Record<string, string> {
    const { name, taskRoot, handler, memoryMb, runtime, environment } = this.spec;
    const region = this.spec.region ?? 'us-east-1';
    // The caller's npm-script entries (node_modules/.bin) are no part of Lambda's PATH.
    const pathEntries = (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin')
      .split(delimiter)
      .filter((entry) => entry !== '' && !entry.includes('node_modules'));
    return {
      // Not reserved in Lambda: the template may override these.
      PATH: [dirname(runtime.nodeBinary), ...pathEntries].join(delimiter),
      LANG: 'en_US.UTF-8',
      NODE_PATH: [join(runtime.root, 'node_modules'), runtime.root, taskRoot].join(delimiter),
      ...environment,
      // Reserved: Lambda sets these whatever the template says.
      LAMBDA_TASK_ROOT: taskRoot,
      LAMBDA_RUNTIME_DIR: runtime.root,
      AWS_LAMBDA_RUNTIME_API: runtimeApi,
      _HANDLER: handler,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      AWS_LAMBDA_FUNCTION_NAME: name,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: this.logStream,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      TZ: ':UTC',
      AWS_ACCESS_KEY_ID: 'ASIALOCALCLOUDDUMMY00',
      AWS_SECRET_ACCESS_KEY: 'local-cloud-dummy-secret-access-key',
      AWS_SESSION_TOKEN: 'local-cloud-dummy-session-token',
    };
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const errorType = req.headers['lambda-runtime-function-error-type'];
    const answer = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(path);
    if (req.method === 'GET' && path === `${API}/invocation/next`) {
      this.next(res);
    } else if (req.method === 'POST' && path === `${API}/init/error`) {
      this.initError = parseError(await readBody(req), errorType);
      accepted(res);
    } else if (req.method === 'POST' && answer) {
      const id = decodeURIComponent(answer[1] ?? '');
      const body = await readBody(req);
      const invocation = this.current;
      if (!invocation?.dispatched || invocation.id !== id) {
        send(res, 400, { errorType: 'InvalidRequestID', errorMessage: `Invalid request ID: ${id}` });
        return;
      }
      accepted(res);
      this.firstAnswer();
      invocation.settle(
        answer[2] === 'response'
          ? responseResult(invocation, body)
          : { ok: false, kind: 'function', requestId: id, ...parseError(body, errorType) },
      );
    } else {
      send(res, 404, { errorType: 'NotFound', errorMessage: `${req.method} ${path}` });
    }
  }

  /** The long poll: answered when an invocation is assigned to this container. */
  private next(res: ServerResponse): void {
    if (this.firstNextAt === undefined) {
      this.firstNextAt = Date.now();
      this.hooks.onInitDone(this.firstNextAt - this.spawnedAt);
    }
    this.waitingNext = res;
    res.once('close', () => {
      if (this.waitingNext === res) this.waitingNext = undefined;
    });
    if (this.current && !this.current.dispatched) this.dispatch();
  }

  private dispatch(): void {
    const invocation = this.current;
    const res = this.waitingNext;
    if (!invocation || !res) return;
    this.waitingNext = undefined;
    invocation.dispatched = true;
    this.startClock(invocation);
    const { region = 'us-east-1', accountId = '000000000000', name } = this.spec;
    const epoch = Math.floor(Date.now() / 1000).toString(16);
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Lambda-Runtime-Aws-Request-Id': invocation.id,
      'Lambda-Runtime-Deadline-Ms': String(invocation.deadline),
      'Lambda-Runtime-Invoked-Function-Arn': `arn:aws:lambda:${region}:${accountId}:function:${name}`,
      // Sampled=0: nothing tries to reach an X-Ray daemon.
      'Lambda-Runtime-Trace-Id': `Root=1-${epoch}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0`,
    });
    res.end(invocation.body);
  }

  private startClock(invocation: Invocation): void {
    if (invocation.timer) return;
    const { timeoutMs } = this.spec;
    invocation.clockStartedAt = Date.now();
    invocation.deadline = invocation.clockStartedAt + timeoutMs;
    invocation.timer = setTimeout(() => {
      void this.kill();
      invocation.settle({
        ok: false,
        kind: 'timeout',
        requestId: invocation.id,
        errorType: 'Sandbox.Timedout',
        errorMessage: `RequestId: ${invocation.id} Error: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
      });
    }, timeoutMs);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null, error?: Error): void {
    if (this.gone) return;
    this.gone = true;
    this.dead = true;
    this.waitingNext?.destroy();
    this.server.close();
    this.server.closeAllConnections();
    this.markExited();
    const invocation = this.current;
    // Still current: not a timeout (already settled) but a crash, a failed init, or stop().
    if (invocation) {
      const status = error ? error.message : signal ? `signal: ${signal}` : `exit status ${code}`;
      const inInit = this.firstNextAt === undefined || this.initError !== undefined;
      invocation.settle({
        ok: false,
        kind: inInit ? 'init' : 'crash',
        requestId: invocation.id,
        ...(this.initError ?? {
          errorType: 'Runtime.ExitError',
          errorMessage: `RequestId: ${invocation.id} Error: Runtime exited with error: ${status}`,
        }),
      });
    }
    this.hooks.onExit();
  }

  private firstAnswer(): void {
    if (this.answered) return;
    this.answered = true;
    this.hooks.onFirstResponse(Date.now() - this.spawnedAt);
  }

  private report(invocation: Invocation, result: InvokeResult): void {
    const duration = (Date.now() - (invocation.clockStartedAt ?? Date.now())).toFixed(2);
    const init =
      invocation.cold && this.firstNextAt !== undefined
        ? ` Init Duration: ${this.firstNextAt - this.spawnedAt} ms`
        : '';
    const status = result.ok ? '' : ` Status: ${result.kind === 'timeout' ? 'timeout' : 'error'}`;
    this.log(`END RequestId: ${invocation.id}`);
    this.log(
      `REPORT RequestId: ${invocation.id} Duration: ${duration} ms Memory Size: ${this.spec.memoryMb} MB${init}${status}`,
    );
  }

  private log(line: string): void {
    this.spec.onLog?.(`[${this.spec.name}] ${line}`);
  }
}

/**
 * Node flags as the nodejs22.x bootstrap sets them: heap sized from the memory setting (young generation a
 * tenth, the rest old space) unless NODE_OPTIONS already sizes it.
 */
const nodeArgs = (memoryMb: number, nodeOptions = ''): string[] => {
  const args = ['--expose-gc', '--max-http-header-size=81920'];
  if (/max[-_](semi|old)[-_]space[-_]size/.test(nodeOptions)) return args;
  const newSpace = Math.floor(memoryMb / 10);
  return [
    ...args,
    `--max-semi-space-size=${Math.floor(newSpace / 3)}`,
    `--max-old-space-size=${memoryMb - newSpace}`,
  ];
};

const responseResult = (invocation: Invocation, body: string): InvokeResult => {
  if (Buffer.byteLength(body) > MAX_RESPONSE_BYTES) {
    return {
      ok: false,
      kind: 'function',
      requestId: invocation.id,
      errorType: 'Function.ResponseSizeTooLarge',
      errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
    };
  }
  return { ok: true, payload: parseJson(body), requestId: invocation.id, coldStart: invocation.cold };
};

const parseError = (
  body: string,
  headerType: string | string[] | undefined,
): { errorType: string; errorMessage: string; trace?: string[] } => {
  const parsed = parseJson(body);
  const fields = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const trace = Array.isArray(fields.trace) ? fields.trace.map(String) : undefined;
  return {
    errorType:
      typeof fields.errorType === 'string' ? fields.errorType : String(headerType ?? 'Runtime.UnknownError'),
    errorMessage: typeof fields.errorMessage === 'string' ? fields.errorMessage : body,
    ...(trace ? { trace } : {}),
  };
};

const parseJson = (body: string): unknown => {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
};

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

const send = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
};

const accepted = (res: ServerResponse): void => send(res, 202, { status: 'OK' });
