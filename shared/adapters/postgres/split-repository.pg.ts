import { PreconditionFailedError, VersionUnavailableError } from '#shared/domain/errors';
import type { WriteContext } from '#shared/domain/route';
import {
  orderedWeights,
  type SplitKey,
  type SplitRecord,
  type SplitState,
  type SplitWriteResult,
  splitLabel,
  targetsOf,
  type Weights,
} from '#shared/domain/split';
import type { SplitRepository } from '#shared/ports/split-repository.port';
import { mapPgError } from './pg-errors.ts';
import type { PgPool } from './pg-pool.ts';
import { conditionOf } from './route-repository.pg.ts';
import { type SplitOutboxRowJson, splitEventFromOutboxRow } from './split-outbox-row.pg.ts';

interface WriteRow {
  outcome:
    | 'created'
    | 'updated'
    | 'unchanged'
    | 'deleted'
    | 'precondition_failed'
    | 'version_unavailable'
    | 'not_found';
  weights: Record<string, number> | null;
  revision: string | number | null;
  cache_revision: string | number | null;
  event: SplitOutboxRowJson | null;
  problem_version: string | null;
}

/** Author, correlation, publish lease, precondition and token: the arguments after what the write sets. */
const contextArgs = (ctx: WriteContext): unknown[] => [
  ctx.changedBy,
  ctx.correlationId,
  ctx.publishLeaseMs ?? 0,
  ...conditionOf(ctx),
  ctx.changedByTokenId ?? null,
];

const PUT_SPLIT = {
  name: 'tm_put_split_v1',
  text: 'SELECT * FROM tm_put_split($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
};
const DELETE_SPLIT = {
  name: 'tm_delete_split_v1',
  text: 'SELECT * FROM tm_delete_split($1, $2, $3, $4, $5, $6, $7, $8, $9)',
};
const FIND_SPLIT = {
  name: 'tm_find_split',
  text: `SELECT sp.weights, sp.revision FROM traffic_splits sp
           JOIN environments en ON en.id = sp.environment_id
           JOIN services s ON s.id = en.service_id
           JOIN tenants t ON t.id = s.tenant_id
          WHERE t.name = $1 AND s.name = $2 AND en.name = $3 AND sp.weights IS NOT NULL`,
};
// The split and its versions' URLs in one statement: one snapshot, so the entry is some committed state.
const LOAD_SPLIT_STATE = {
  name: 'tm_load_split_state',
  text: `SELECT sp.weights, sp.revision, sp.cache_revision,
                (SELECT jsonb_object_agg(e.version, e.url) FROM endpoints e
                  WHERE e.environment_id = sp.environment_id AND e.is_active AND sp.weights ? e.version) AS urls
           FROM traffic_splits sp
           JOIN environments en ON en.id = sp.environment_id
           JOIN services s ON s.id = en.service_id
           JOIN tenants t ON t.id = s.tenant_id
          WHERE t.name = $1 AND s.name = $2 AND en.name = $3`,
};

const toResult = (key: SplitKey, row: WriteRow): SplitWriteResult | null => {
  switch (row.outcome) {
    case 'precondition_failed': {
      const current = row.revision === null ? null : Number(row.revision);
      throw new PreconditionFailedError(
        current === null
          ? `split ${splitLabel(key)} does not exist`
          : `split ${splitLabel(key)} is at revision ${current}`,
        current,
      );
    }
    case 'version_unavailable':
      throw new VersionUnavailableError(
        `version ${row.problem_version} of ${splitLabel(key)} is not an existing active route`,
        row.problem_version ?? '',
      );
    case 'not_found':
      return null;
    default:
      return {
        outcome: row.outcome,
        key,
        weights: row.weights ? orderedWeights(row.weights) : null,
        revision: Number(row.revision),
        cacheRevision: Number(row.cache_revision),
        event: row.event ? splitEventFromOutboxRow(row.event) : null,
        publishLeased: !!row.event?.lease_until,
      };
  }
};

export class PgSplitRepository implements SplitRepository {
  constructor(private readonly pool: PgPool) {}

  async findSplit(key: SplitKey): Promise<SplitRecord | null> {
    const { rows } = await this.pool
      .query<{ weights: Record<string, number>; revision: string }>({
        ...FIND_SPLIT,
        values: [key.tenant, key.service, key.env],
      })
      .catch(mapPgError);
    const row = rows[0];
    return row ? { ...key, weights: orderedWeights(row.weights), revision: Number(row.revision) } : null;
  }

  async loadSplitState(key: SplitKey): Promise<SplitState> {
    const { rows } = await this.pool
      .query<{
        weights: Record<string, number> | null;
        revision: string;
        cache_revision: string;
        urls: Record<string, string> | null;
      }>({ ...LOAD_SPLIT_STATE, values: [key.tenant, key.service, key.env] })
      .catch(mapPgError);
    const row = rows[0];
    if (!row) return { cacheRevision: 0, split: null };
    const cacheRevision = Number(row.cache_revision);
    if (!row.weights) return { cacheRevision, split: null };
    return {
      cacheRevision,
      split: { revision: Number(row.revision), targets: targetsOf(row.weights, row.urls ?? {}) },
    };
  }

  async putSplit(key: SplitKey, weights: Weights, ctx: WriteContext): Promise<SplitWriteResult> {
    const { rows } = await this.pool
      .query<WriteRow>({
        ...PUT_SPLIT,
        values: [key.tenant, key.service, key.env, JSON.stringify(weights), ...contextArgs(ctx)],
      })
      .catch(mapPgError);
    return toResult(key, rows[0]!)!;
  }

  async deleteSplit(key: SplitKey, ctx: WriteContext): Promise<SplitWriteResult | null> {
    const { rows } = await this.pool
      .query<WriteRow>({ ...DELETE_SPLIT, values: [key.tenant, key.service, key.env, ...contextArgs(ctx)] })
      .catch(mapPgError);
    return toResult(key, rows[0]!);
  }
}
