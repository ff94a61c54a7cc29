import type { WriteContext } from '#shared/domain/route';
import type { BatchApplied, BatchOperation } from '#shared/domain/route-batch';

/**
 * Applies a bulk change in one Postgres transaction, all or nothing: each operation as its single write
 * would (same functions, same outbox rows, same publish leases), every event tagged with `batchId`.
 * Operations referring to routes that do not exist make the whole batch roll back; all of them are named.
 */
export interface RouteBatchWriter {
  applyBatch(
    operations: readonly BatchOperation[],
    ctx: WriteContext & { readonly batchId: string },
  ): Promise<BatchApplied>;
}
