import * as z from 'zod';

/** What the health function answers (health.handler.ts builds these; docs/openapi.json shows them). */
export const healthSchema = z
  .object({ status: z.enum(['healthy', 'alive']), service: z.string() })
  .meta({ id: 'Health' });

const probeResultSchema = z
  .looseObject({
    status: z.enum(['healthy', 'unhealthy', 'disabled']),
    message: z.string(),
    latency_ms: z.number().optional(),
  })
  .meta({ id: 'ProbeResult', description: 'One dependency probe; some probes add fields of their own' });

export const readinessSchema = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    service: z.string(),
    checks: z.record(z.string(), probeResultSchema),
  })
  .meta({ id: 'Readiness' });

const count = z.number().int().nonnegative();

export const resilienceSchema = z
  .object({
    service: z.string(),
    breakers: z.record(
      z.string(),
      z.object({
        state: z.enum(['closed', 'open', 'half_open', 'isolated']),
        opened_total: count,
        rejected_total: count,
      }),
    ),
    retry_budget: z.object({
      available: z.number(),
      capacity: z.number(),
      granted_total: count,
      denied_total: count,
    }),
    draining: z.boolean(),
    bulkheads: z
      .record(z.string(), z.unknown())
      .meta({ description: 'Per operation in the local runners; a note on reserved concurrency in Lambda' }),
  })
  .meta({ id: 'Resilience', description: 'Circuit breakers, the retry budget and the host’s bulkheads' });

/** GET /openapi.json: the committed document (docs/openapi.json), shown only by its top-level fields. */
export const openApiDocumentSchema = z
  .looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) })
  .meta({ id: 'OpenApiDocument' });

export type HealthBody = z.output<typeof healthSchema>;
export type ReadinessBody = z.output<typeof readinessSchema>;
export type ResilienceBody = z.output<typeof resilienceSchema>;
