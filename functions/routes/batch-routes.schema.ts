import * as z from 'zod';
import { nameSchema, routeKeySchema, toFieldIssues, urlSchema } from '#shared/domain/route.schema';
import {
  BATCH_OPS,
  type BatchFailure,
  type BatchOperation,
  MAX_BATCH_OPERATIONS,
} from '#shared/domain/route-batch';

/**
 * POST /api/v1/routes/batch: request and answers. Kept as zod schemas beside the handler so the OpenAPI
 * registry can take them as they are.
 */
export const batchOperationSchema = z.discriminatedUnion('op', [
  routeKeySchema.extend({ op: z.literal('create'), url: urlSchema }),
  routeKeySchema.extend({ op: z.literal('activate') }),
  routeKeySchema.extend({ op: z.literal('deactivate') }),
]);

export const batchRequestSchema = z.object({
  operations: z.array(batchOperationSchema).min(1).max(MAX_BATCH_OPERATIONS),
});

const COUNT_RULE = `must be an array of 1-${MAX_BATCH_OPERATIONS} operations`;

/** The envelope alone: each operation is checked on its own, so every bad one can be named by index. */
const envelopeSchema = z.object({
  operations: z
    .array(z.unknown(), { error: COUNT_RULE })
    .min(1, { error: COUNT_RULE })
    .max(MAX_BATCH_OPERATIONS, { error: COUNT_RULE }),
});

const opSchemas = {
  create: batchOperationSchema.options[0],
  activate: batchOperationSchema.options[1],
  deactivate: batchOperationSchema.options[2],
} as const;

const isOp = (value: unknown): value is (typeof BATCH_OPS)[number] =>
  typeof value === 'string' && (BATCH_OPS as readonly string[]).includes(value);

/** One operation's problems, or the operation. */
const parseOperation = (raw: unknown, index: number): BatchOperation | BatchFailure[] => {
  const fail = (field: string, rule: string, message: string): BatchFailure[] => [
    { index, error: 'validation_error', field, rule, message },
  ];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    return fail('body', 'type', 'must be a JSON object');
  const op = (raw as { op?: unknown }).op;
  if (!isOp(op))
    return fail('op', op === undefined ? 'required' : 'one_of', `must be one of ${BATCH_OPS.join(', ')}`);
  const parsed = opSchemas[op].safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    return toFieldIssues(parsed.error).map((issue) => ({ index, error: 'validation_error', ...issue }));
  }
  const { tenant, service, env, version } = parsed.data;
  const key = { tenant, service, env, version };
  return parsed.data.op === 'create'
    ? { op: 'create', key, url: parsed.data.url }
    : { op: parsed.data.op, key };
};

/**
 * The operations, or every problem: the envelope's as plain field issues (`field: 'operations'`), each
 * operation's named by its index.
 */
export const parseBatchRequest = (
  body: unknown,
):
  | { readonly ok: true; readonly operations: BatchOperation[] }
  | { readonly ok: false; readonly envelope: ReturnType<typeof toFieldIssues> }
  | { readonly ok: false; readonly failures: BatchFailure[] } => {
  const envelope = envelopeSchema.safeParse(body, { reportInput: true });
  if (!envelope.success) return { ok: false, envelope: toFieldIssues(envelope.error) };
  const operations: BatchOperation[] = [];
  const failures: BatchFailure[] = [];
  envelope.data.operations.forEach((raw, index) => {
    const parsed = parseOperation(raw, index);
    if (Array.isArray(parsed)) failures.push(...parsed);
    else operations.push(parsed);
  });
  return failures.length > 0 ? { ok: false, failures } : { ok: true, operations };
};

const routeSchema = z.object({
  tenant: nameSchema,
  service: nameSchema,
  env: nameSchema,
  version: nameSchema,
  url: z.string(),
  is_active: z.boolean(),
  revision: z.number().int().positive(),
});

/** 200: one result per operation, in order, each as the single write answers it. */
export const batchResponseSchema = z.object({
  batch_id: z.uuid(),
  results: z.array(
    z.object({
      message: z.string(),
      outcome: z.enum(['created', 'updated', 'unchanged', 'activated', 'deactivated']),
      route: routeSchema,
    }),
  ),
});

/** 400 / 404 / 409: nothing was applied; every failing operation by index and reason. */
export const batchRejectedSchema = z.object({
  error: z.enum(['validation_error', 'route_not_found', 'batch_conflict']),
  message: z.string(),
  failures: z.array(
    z.object({
      index: z.number().int().nonnegative(),
      error: z.enum(['validation_error', 'route_not_found', 'duplicate_route']),
      message: z.string(),
      field: z.string().optional(),
      rule: z.string().optional(),
    }),
  ),
});
