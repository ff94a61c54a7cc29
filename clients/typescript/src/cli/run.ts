import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type {
  AuditEvent,
  BatchOperation,
  BatchRoutesResponse,
  Route,
  RouteKey,
  RouteWriteResponse,
  ServiceKey,
  Split,
  Token,
} from '../api.ts';
import { TrafficManagerClient } from '../client.ts';
import { TrafficManagerError } from '../errors.ts';
import { EXIT, exitCodeOf } from './exit-codes.ts';
import { fields, table } from './format.ts';

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** A file's text, or standard input's for `-` (`routes batch --file`). */
  readonly readInput?: (path: string) => Promise<string>;
}

export const USAGE = `Usage: traffic-manager <command> [arguments] [options]

Routes (ROUTE is tenant/service/env/version, or --tenant --service --env --version;
SERVICE is tenant/service/env, or --tenant --service --env):
  routes list --tenant T [--service S] [--env E] [--active true|false] [--limit N] [--cursor C] [--all]
  routes get ROUTE
  routes resolve ROUTE                      prints the active route's URL
  routes resolve SERVICE [--key K]          prints the URL of the version the split chooses for K
                                            (random by weight without --key; --json adds the version)
  routes create ROUTE --url URL [--create-only] [--if-match REV] [--idempotency-key K]
  routes activate ROUTE [--if-match REV] [--idempotency-key K]
  routes deactivate ROUTE [--if-match REV] [--idempotency-key K]
  routes rollback ROUTE [--to-revision N] [--if-match REV] [--idempotency-key K]
  routes batch --file OPS.json|- [--idempotency-key K]
                                            OPS: {"operations": [{"op": "create"|"activate"|"deactivate",
                                            tenant, service, env, version, url?}, ...]} or the bare array;
                                            all or nothing (a refusal names each failing index)
Traffic splits between versions:
  splits get SERVICE
  splits put SERVICE --weights v2=90,v3=10 [--create-only] [--if-match REV] [--idempotency-key K]
  splits delete SERVICE [--if-match REV] [--idempotency-key K]
Audit trail (newest first):
  audit route ROUTE [--limit N] [--cursor C]
  audit recent [--days N] [--limit N] [--cursor C]
API tokens (admin token):
  tokens create --principal P --role resolver|writer|admin --tenants a,b|'*' [--expires-in-days N]
  tokens list [--limit N]
  tokens revoke TOKEN_ID [--allow-last-admin]

Options:
  --api-url URL    the API's base URL (default $TRAFFIC_MANAGER_URL, else http://127.0.0.1:8000)
  --token TOKEN    API token (default $TRAFFIC_MANAGER_TOKEN; prefer the variable: flags show in ps)
  --timeout MS     per-call budget, retries included (default 10000)
  --json           print the API's JSON answer (errors as JSON on stderr)
  -h, --help

Exit codes: 0 ok, 1 unexpected failure, 2 bad input (arguments or 400/413/415/422), 3 not found (404),
4 precondition failed (412), 5 conflict (409), 6 auth (401/403), 7 rate limited (429),
8 server error or unreachable (5xx, network, timeout).`;

const OPTIONS = {
  'api-url': { type: 'string' },
  token: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  tenant: { type: 'string' },
  service: { type: 'string' },
  env: { type: 'string' },
  version: { type: 'string' },
  url: { type: 'string' },
  active: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  all: { type: 'boolean' },
  'create-only': { type: 'boolean' },
  'if-match': { type: 'string' },
  'idempotency-key': { type: 'string' },
  'to-revision': { type: 'string' },
  days: { type: 'string' },
  principal: { type: 'string' },
  role: { type: 'string' },
  tenants: { type: 'string' },
  'expires-in-days': { type: 'string' },
  'allow-last-admin': { type: 'boolean' },
  key: { type: 'string' },
  file: { type: 'string' },
  weights: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** Wrong arguments: exit 2 with the message and a pointer to --help. */
class UsageError extends Error {}

const int = (values: Values, name: 'limit' | 'days' | 'to-revision' | 'expires-in-days' | 'timeout') => {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} must be a whole number, got "${raw}"`);
  return Number(raw);
};

const routeOf = (values: Values, positional: string | undefined): RouteKey => {
  const parts = positional?.split('/') ?? [];
  if (positional !== undefined && (parts.length !== 4 || parts.some((p) => p === ''))) {
    throw new UsageError(`ROUTE must be tenant/service/env/version, got "${positional}"`);
  }
  const [tenant = values.tenant, service = values.service, env = values.env, version = values.version] =
    positional === undefined ? [] : parts;
  const missing = Object.entries({ tenant, service, env, version })
    .filter(([, v]) => v === undefined)
    .map(([k]) => `--${k}`);
  if (missing.length > 0) {
    throw new UsageError(`name the route as tenant/service/env/version or with ${missing.join(', ')}`);
  }
  return { tenant: tenant!, service: service!, env: env!, version: version! };
};

/** SERVICE (tenant/service/env) as one argument or as flags; `--version` is not part of it. */
const serviceOf = (values: Values, positional: string | undefined, command: string): ServiceKey => {
  const parts = positional?.split('/') ?? [];
  if (positional !== undefined && (parts.length !== 3 || parts.some((p) => p === ''))) {
    throw new UsageError(`${command}: SERVICE must be tenant/service/env, got "${positional}"`);
  }
  const [tenant = values.tenant, service = values.service, env = values.env] =
    positional === undefined ? [] : parts;
  const missing = Object.entries({ tenant, service, env })
    .filter(([, v]) => v === undefined)
    .map(([k]) => `--${k}`);
  if (missing.length > 0) {
    throw new UsageError(`name the service as tenant/service/env or with ${missing.join(', ')}`);
  }
  return { tenant: tenant!, service: service!, env: env! };
};

/** `v2=90,v3=10` -> `{v2: 90, v3: 10}`; the API checks the sum and the versions. */
export const parseWeights = (raw: string): Record<string, number> => {
  const weights: Record<string, number> = {};
  for (const part of raw.split(',')) {
    const match = /^([^=\s]+)=(\d+)$/.exec(part.trim());
    if (!match) throw new UsageError(`--weights must look like v2=90,v3=10, got "${part}"`);
    const [, version, weight] = match as unknown as [string, string, string];
    if (version in weights) throw new UsageError(`--weights names ${version} twice`);
    weights[version] = Number(weight);
  }
  return weights;
};

/** A batch file: `{"operations": [...]}` or the bare array (the API checks each operation). */
export const parseBatchFile = (text: string, source: string): BatchOperation[] => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${source} is not JSON: ${(err as Error).message}`);
  }
  const operations = Array.isArray(parsed) ? parsed : (parsed as { operations?: unknown } | null)?.operations;
  if (!Array.isArray(operations)) {
    throw new UsageError(`${source} must hold {"operations": [...]} or an array of operations`);
  }
  return operations as BatchOperation[];
};

const label = (r: ServiceKey & { version?: string }) =>
  `${r.tenant}/${r.service}/${r.env}${r.version === undefined ? '' : `/${r.version}`}`;
const weightsText = (weights: Split['weights']) =>
  weights === null
    ? '(none)'
    : Object.entries(weights)
        .map(([version, weight]) => `${version}=${weight}`)
        .join(',');

const routeRows = (routes: readonly Route[]) =>
  table(
    ['SERVICE', 'ENV', 'VERSION', 'ACTIVE', 'REVISION', 'URL'],
    routes.map((r) => [r.service, r.env, r.version, r.is_active ? 'yes' : 'no', r.revision, r.url]),
  );

const auditRows = (events: readonly AuditEvent[]) =>
  table(
    ['OCCURRED_AT', 'ACTION', 'ROUTE', 'REVISION', 'URL', 'CHANGED_BY'],
    events.map((e) => [e.occurred_at, e.action, label(e.route), e.revision, e.url, e.changed_by]),
  );

const tokenRows = (tokens: readonly Token[]) =>
  table(
    ['ID', 'PRINCIPAL', 'ROLE', 'TENANTS', 'STATUS', 'EXPIRES_AT'],
    tokens.map((t) => [t.id, t.principal, t.role, t.tenants, t.status, t.expires_at]),
  );

const batchRows = (res: BatchRoutesResponse) =>
  `${table(
    ['INDEX', 'OUTCOME', 'ROUTE', 'REVISION', 'ACTIVE', 'URL'],
    res.results.map((r, i) => [
      i,
      r.outcome,
      label(r.route),
      r.route.revision,
      r.route.is_active ? 'yes' : 'no',
      r.route.url,
    ]),
  )}\nbatch ${res.batch_id}: ${res.results.length} operation(s) applied`;

const splitFields = (split: Split) =>
  fields([
    ['split', label(split)],
    ['weights', weightsText(split.weights)],
    ['revision', split.revision],
    ['etag', `"${split.revision}"`],
  ]);

const writeLine = (res: RouteWriteResponse) => {
  const r = res.route;
  const restored = res.restored_revision !== undefined ? ` (restored revision ${res.restored_revision})` : '';
  return `${res.outcome}: ${label(r)} revision ${r.revision}, ${r.is_active ? 'active' : 'inactive'}, ${r.url}${restored}`;
};

interface Output {
  readonly json: unknown;
  readonly text: string;
}

type Command = (
  client: TrafficManagerClient,
  values: Values,
  args: readonly string[],
  readInput: (path: string) => Promise<string>,
) => Promise<Output>;

const writeOptions = (values: Values) => ({
  ...(values['if-match'] !== undefined ? { ifMatch: values['if-match'] } : {}),
  ...(values['idempotency-key'] !== undefined ? { idempotencyKey: values['idempotency-key'] } : {}),
});

const page = (values: Values) => ({
  ...(int(values, 'limit') !== undefined ? { limit: int(values, 'limit') } : {}),
  ...(values.cursor !== undefined ? { cursor: values.cursor } : {}),
});

const nextPage = (cursor: string | null) => (cursor ? `\n(more: --cursor ${cursor})` : '');

const COMMANDS: Record<string, Command> = {
  'routes list': async (client, values) => {
    if (values.tenant === undefined) throw new UsageError('routes list needs --tenant');
    if (values.active !== undefined && values.active !== 'true' && values.active !== 'false') {
      throw new UsageError('--active must be true or false');
    }
    const query = {
      tenant: values.tenant,
      ...(values.service !== undefined ? { service: values.service } : {}),
      ...(values.env !== undefined ? { env: values.env } : {}),
      ...(values.active !== undefined ? { active: values.active === 'true' } : {}),
      ...page(values),
    };
    if (values.all) {
      const routes: Route[] = [];
      for await (const r of client.listAllRoutes(query)) routes.push(r);
      return { json: { routes, next_cursor: null }, text: routeRows(routes) };
    }
    const res = await client.listRoutes(query);
    return { json: res, text: routeRows(res.routes) + nextPage(res.next_cursor) };
  },
  'routes get': async (client, values, args) => {
    const r = await client.getRoute(routeOf(values, args[0]));
    return {
      json: r,
      text: fields([
        ['route', label(r)],
        ['url', r.url],
        ['active', r.is_active ? 'yes' : 'no'],
        ['revision', r.revision],
        ['etag', `"${r.revision}"`],
        ['created', `${r.created_at} by ${r.created_by}`],
        ['updated', `${r.updated_at} by ${r.updated_by}`],
      ]),
    };
  },
  'routes resolve': async (client, values, args) => {
    // Without a version (neither /version nor --version) the service's split chooses one.
    const versioned = values.version !== undefined || args[0]?.split('/').length === 4;
    if (!versioned) {
      const service = serviceOf(values, args[0], 'routes resolve');
      const res = await client.resolveByKey(service, values.key === undefined ? {} : { key: values.key });
      if (!res) throw new CliNotFound(`no split for ${label(service)}`, 'no_split');
      return {
        json: { url: res.url, version: res.version, split_revision: res.splitRevision, sticky: res.sticky },
        text: res.url,
      };
    }
    if (values.key !== undefined) throw new UsageError('--key chooses by the split: name no version');
    const route = routeOf(values, args[0]);
    const res = await client.resolve(route);
    if (!res) throw new CliNotFound(`no active route ${label(route)}`);
    return { json: { url: res.url, etag: res.etag }, text: res.url };
  },
  'routes create': async (client, values, args) => {
    const url = values.url;
    if (url === undefined) throw new UsageError('routes create needs --url (the endpoint URL)');
    const res = await client.createRoute(
      { ...routeOf(values, args[0]), url },
      { ...writeOptions(values), ...(values['create-only'] ? { createOnly: true } : {}) },
    );
    return { json: res, text: writeLine(res) };
  },
  'routes activate': async (client, values, args) => {
    const res = await client.activateRoute(routeOf(values, args[0]), writeOptions(values));
    return { json: res, text: writeLine(res) };
  },
  'routes deactivate': async (client, values, args) => {
    const res = await client.deactivateRoute(routeOf(values, args[0]), writeOptions(values));
    return { json: res, text: writeLine(res) };
  },
  'routes batch': async (client, values, _args, readInput) => {
    const file = values.file;
    if (file === undefined) throw new UsageError('routes batch needs --file OPS.json (or - for stdin)');
    const source = file === '-' ? 'standard input' : file;
    let text: string;
    try {
      text = await readInput(file);
    } catch (err) {
      throw new UsageError(`cannot read ${source}: ${(err as Error).message}`);
    }
    const res = await client.batchRoutes(
      { operations: parseBatchFile(text, source) },
      values['idempotency-key'] !== undefined ? { idempotencyKey: values['idempotency-key'] } : {},
    );
    return { json: res, text: batchRows(res) };
  },
  'routes rollback': async (client, values, args) => {
    const toRevision = int(values, 'to-revision');
    const res = await client.rollbackRoute(
      { ...routeOf(values, args[0]), ...(toRevision !== undefined ? { to_revision: toRevision } : {}) },
      writeOptions(values),
    );
    return { json: res, text: writeLine(res) };
  },
  'splits get': async (client, values, args) => {
    const split = await client.getSplit(serviceOf(values, args[0], 'splits get'));
    return { json: split, text: splitFields(split) };
  },
  'splits put': async (client, values, args) => {
    const service = serviceOf(values, args[0], 'splits put');
    if (values.weights === undefined) throw new UsageError('splits put needs --weights v2=90,v3=10');
    const res = await client.putSplit(
      { ...service, weights: parseWeights(values.weights) },
      { ...writeOptions(values), ...(values['create-only'] ? { createOnly: true } : {}) },
    );
    return {
      json: res,
      text: `${res.outcome}: ${label(res.split)} revision ${res.split.revision}, ${weightsText(res.split.weights)}`,
    };
  },
  'splits delete': async (client, values, args) => {
    const res = await client.deleteSplit(serviceOf(values, args[0], 'splits delete'), writeOptions(values));
    return { json: res, text: `${res.outcome}: ${label(res.split)} revision ${res.split.revision}` };
  },
  'audit route': async (client, values, args) => {
    const res = await client.getRouteAudit({ ...routeOf(values, args[0]), ...page(values) });
    return { json: res, text: auditRows(res.events) + nextPage(res.next_cursor) };
  },
  'audit recent': async (client, values) => {
    const days = int(values, 'days');
    const res = await client.getRecentAudit({ ...page(values), ...(days !== undefined ? { days } : {}) });
    return { json: res, text: auditRows(res.events) + nextPage(res.next_cursor) };
  },
  'tokens create': async (client, values) => {
    const { principal, role, tenants } = values;
    if (principal === undefined || role === undefined || tenants === undefined) {
      throw new UsageError('tokens create needs --principal, --role and --tenants');
    }
    if (role !== 'resolver' && role !== 'writer' && role !== 'admin') {
      throw new UsageError('--role must be resolver, writer or admin');
    }
    const days = int(values, 'expires-in-days');
    const res = await client.createToken({
      principal,
      role,
      tenants: tenants === '*' ? '*' : tenants.split(','),
      ...(days !== undefined ? { expires_in_days: days } : {}),
    });
    const t = res.token;
    return {
      json: res,
      text: `${fields([
        ['id', t.id],
        ['principal', t.principal],
        ['role', t.role],
        ['tenants', t.tenants],
        ['expires_at', t.expires_at],
      ])}\nsecret (shown once, store it now): ${res.secret}`,
    };
  },
  'tokens list': async (client, values) => {
    const limit = int(values, 'limit');
    const res = await client.listTokens(limit !== undefined ? { limit } : {});
    return { json: res, text: tokenRows(res.tokens) };
  },
  'tokens revoke': async (client, values, args) => {
    const id = args[0];
    if (id === undefined) throw new UsageError('tokens revoke needs the TOKEN_ID');
    const res = await client.revokeToken({
      id,
      ...(values['allow-last-admin'] ? { allow_last_admin: true } : {}),
    });
    return {
      json: res,
      text: `${res.outcome}: ${res.token.id} (${res.token.principal}) is ${res.token.status}`,
    };
  },
};

/** resolve's "no active route" is an answer to the client (null) but an exit code to the CLI. */
class CliNotFound extends Error {
  constructor(
    message: string,
    readonly code = 'route_not_found',
  ) {
    super(message);
  }
}

/** The file's text, or all of standard input for `-`. */
const readInputDefault = async (path: string): Promise<string> => {
  if (path !== '-') return readFile(path, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

/** Runs one command; resolves with the exit code (never throws). */
export const runCli = async (argv: readonly string[], io: CliIo): Promise<number> => {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    io.err(`error: ${(err as Error).message}\nRun traffic-manager --help for usage.`);
    return EXIT.badInput;
  }
  if (values.help || positionals.length === 0) {
    (values.help ? io.out : io.err)(USAGE);
    return values.help ? EXIT.ok : EXIT.badInput;
  }
  const [group, action, ...args] = positionals;
  const command = COMMANDS[`${group} ${action}`];
  const report = (code: number, error: string, message: string, extra: Record<string, unknown> = {}) => {
    io.err(values.json ? JSON.stringify({ error, message, exit_code: code, ...extra }) : `error: ${message}`);
    return code;
  };
  if (!command) {
    return report(
      EXIT.badInput,
      'usage',
      `unknown command "${positionals.join(' ')}"; see traffic-manager --help`,
    );
  }
  try {
    const timeoutMs = int(values, 'timeout') ?? 10_000;
    const token = values.token ?? io.env.TRAFFIC_MANAGER_TOKEN;
    const client = new TrafficManagerClient({
      baseUrl: values['api-url'] ?? io.env.TRAFFIC_MANAGER_URL ?? 'http://127.0.0.1:8000',
      ...(token ? { token } : {}),
      timeoutMs,
      userAgent: 'traffic-manager-cli/0.1',
    });
    const output = await command(client, values, args, io.readInput ?? readInputDefault);
    io.out(values.json ? JSON.stringify(output.json, null, 2) : output.text);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof UsageError) return report(EXIT.badInput, 'usage', `${err.message} (see --help)`);
    if (err instanceof CliNotFound) return report(EXIT.notFound, err.code, err.message);
    if (err instanceof TrafficManagerError) {
      return report(exitCodeOf(err), err.code, err.message, {
        ...(err.status !== undefined ? { status: err.status } : {}),
        ...(err.body ? { body: err.body } : {}),
      });
    }
    return report(EXIT.failure, 'unexpected', err instanceof Error ? err.message : String(err));
  }
};
