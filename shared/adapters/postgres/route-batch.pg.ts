import type { RouteWriteResult, WriteContext } from '#shared/domain/route';
import type { BatchApplied, BatchOperation } from '#shared/domain/route-batch';
import type { RouteBatchWriter } from '#shared/ports/route-batch.port';
import { mapPgError } from './pg-errors.ts';
import type { PgPool } from './pg-pool.ts';
import { SET_ACTIVE, toResult, UPSERT_ROUTE, type WriteRow, writeArgs } from './route-repository.pg.ts';

// Transaction-local: the outbox's batch_id default reads it (migrations/1763840000000_route-event-batch-id.sql).
const SET_BATCH_ID = { name: 'tm_set_batch_id', text: "SELECT set_config('tm.batch_id', $1, true)" };

/**
 * One transaction on one connection: the single writes' prepared statements in operation order (so
 * outbox ids, and a route's revisions, follow the batch's order), then COMMIT, or ROLLBACK when any
 * operation found no route. Every missing route is collected before rolling back, so the answer names
 * them all. A statement error (a constraint, a deadlock with another batch) rolls back and is mapped as
 * for single writes.
 */
export class PgRouteBatchWriter implements RouteBatchWriter {
  constructor(private readonly pool: PgPool) {}

  async applyBatch(
    operations: readonly BatchOperation[],
    ctx: WriteContext & { readonly batchId: string },
  ): Promise<BatchApplied> {
    const client = await this.pool.connect().catch(mapPgError);
    let release: Error | undefined;
    try {
      await client.query('BEGIN');
      await client.query({ ...SET_BATCH_ID, values: [ctx.batchId] });
      const results: RouteWriteResult[] = [];
      const missing: number[] = [];
      for (const [index, operation] of operations.entries()) {
        const { rows } = await client.query<WriteRow>(
          operation.op === 'create'
            ? { ...UPSERT_ROUTE, values: writeArgs(operation.key, operation.url, ctx) }
            : { ...SET_ACTIVE, values: writeArgs(operation.key, operation.op === 'activate', ctx) },
        );
        if (rows[0]) results.push(toResult(operation.key, rows[0]));
        else missing.push(index);
      }
      if (missing.length > 0) {
        await client.query('ROLLBACK');
        return { applied: false, missing };
      }
      await client.query('COMMIT');
      return { applied: true, results };
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: Error) => {
        release = rollbackErr; // a connection that cannot roll back is discarded, not reused
      });
      return mapPgError(err);
    } finally {
      client.release(release);
    }
  }
}
