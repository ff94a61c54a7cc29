import {
  type Collection,
  type Db,
  type Filter,
  MongoBulkWriteError,
  MongoError,
  MongoServerError,
} from 'mongodb';
import { DependencyUnavailableError } from '#shared/domain/errors';
import type { RouteState } from '#shared/domain/route';
import type { Weights } from '#shared/domain/split';
import type { AuditAction, AuditQuery, AuditRecord, AuditStore } from '#shared/ports/audit-store.port';
import { AUDIT_COLLECTION, AUDIT_INDEXES } from './audit-schema.ts';

export { AUDIT_COLLECTION, AUDIT_INDEXES } from './audit-schema.ts';

/** The stored document: the seed's §3.5 shape (snake_case) plus revision and correlation_id. */
export interface AuditDocument {
  event_id: string;
  event_type: 'route_changed' | 'split_changed';
  action: AuditAction;
  /** No version for split_changed. */
  route: { tenant: string; service: string; env: string; version?: string };
  /** Null for split_changed. */
  url: string | null;
  previous_url: string | null;
  previous_state: RouteState | null;
  revision: number;
  /** Null unless action is rolled_back (absent from documents written before it existed). */
  restored_revision?: number | null;
  changed_by: string;
  /** Absent from documents written before it existed; null with auth off. */
  changed_by_token_id?: string | null;
  correlation_id: string | null;
  /** The bulk change the event was part of; null or absent for single writes. */
  batch_id?: string | null;
  occurred_at: Date;
  processed_at: Date;
  metadata: Record<string, unknown>;
  /** split_changed only. */
  weights?: Weights | null;
  previous_weights?: Weights | null;
}

const DUPLICATE_KEY = 11000;

/** A route's four names, or a split's three (no version key at all, so route queries never match it). */
const routeOf = (r: { tenant: string; service: string; env: string; version?: string | undefined }) => ({
  tenant: r.tenant,
  service: r.service,
  env: r.env,
  ...(r.version !== undefined ? { version: r.version } : {}),
});

const asStoredDocument = (r: AuditRecord): AuditDocument => ({
  event_id: r.eventId,
  event_type: r.eventType,
  action: r.action,
  route: routeOf(r.route),
  url: r.url,
  previous_url: r.previousUrl,
  previous_state: r.previousState,
  revision: r.revision,
  restored_revision: r.restoredRevision,
  changed_by: r.changedBy,
  changed_by_token_id: r.changedByTokenId,
  correlation_id: r.correlationId,
  batch_id: r.batchId ?? null,
  occurred_at: r.occurredAt,
  processed_at: r.processedAt,
  metadata: r.metadata,
  ...(r.eventType === 'split_changed'
    ? { weights: r.weights ?? null, previous_weights: r.previousWeights ?? null }
    : {}),
});

const toRecord = (d: AuditDocument): AuditRecord => ({
  eventId: d.event_id,
  eventType: d.event_type,
  action: d.action,
  route: routeOf(d.route),
  url: d.url ?? null,
  previousUrl: d.previous_url ?? null,
  previousState: d.previous_state ?? null,
  revision: d.revision,
  restoredRevision: d.restored_revision ?? null,
  changedBy: d.changed_by,
  changedByTokenId: d.changed_by_token_id ?? null,
  correlationId: d.correlation_id ?? null,
  // Only a bulk change's events have one, as in the record the consumer stored (toAuditRecord).
  ...(d.batch_id ? { batchId: d.batch_id } : {}),
  occurredAt: d.occurred_at,
  processedAt: d.processed_at,
  metadata: d.metadata ?? {},
  ...(d.event_type === 'split_changed'
    ? { weights: d.weights ?? null, previousWeights: d.previous_weights ?? null }
    : {}),
});

const writeErrorsOf = (err: MongoBulkWriteError): { code: number }[] => {
  const errors = err.writeErrors as unknown;
  if (Array.isArray(errors)) return errors as { code: number }[];
  return errors ? [errors as { code: number }] : [];
};

/**
 * Audit documents in DocumentDB / MongoDB. Only plain CRUD, $or/$lt/$gte/$in, sort and limit: nothing
 * DocumentDB lacks (no transactions, $facet or pipeline $lookup).
 */
export class MongoAuditStore implements AuditStore {
  private readonly collection: Collection<AuditDocument>;
  private indexes: Promise<void> | undefined;

  /**
   * `createIndexes: false` where the deploy step made the indexes as the master (AWS): the functions' user
   * has find and insert on the collection only, so it could not create them.
   */
  constructor(
    private readonly db: Db,
    private readonly options: { readonly createIndexes: boolean } = { createIndexes: true },
  ) {
    this.collection = db.collection<AuditDocument>(AUDIT_COLLECTION);
  }

  private unavailable(err: unknown): never {
    throw new DependencyUnavailableError('audit_store', 'audit store is unavailable', { cause: err });
  }

  /** Creates the indexes once per container (a no-op when they exist); retried after a failure. */
  ensureIndexes(): Promise<void> {
    if (!this.options.createIndexes) return Promise.resolve();
    this.indexes ??= this.collection
      .createIndexes(AUDIT_INDEXES.map((i) => ({ ...i, key: { ...i.key } })))
      .then(() => undefined)
      .catch((err) => {
        this.indexes = undefined;
        this.unavailable(err);
      });
    return this.indexes;
  }

  async append(records: readonly AuditRecord[]): Promise<{ inserted: number; duplicates: number }> {
    if (records.length === 0) return { inserted: 0, duplicates: 0 };
    await this.ensureIndexes();
    try {
      // Unordered: one duplicate does not stop the rest of the batch.
      const result = await this.collection.insertMany(records.map(asStoredDocument), { ordered: false });
      return { inserted: result.insertedCount, duplicates: 0 };
    } catch (err) {
      if (err instanceof MongoBulkWriteError) {
        const errors = writeErrorsOf(err);
        if (errors.length > 0 && errors.every((e) => e.code === DUPLICATE_KEY)) {
          // Unordered: every document without a write error was inserted (counted from the errors, as
          // some servers' own count includes the duplicates).
          return { inserted: records.length - errors.length, duplicates: errors.length };
        }
      }
      if (err instanceof MongoServerError && err.code === DUPLICATE_KEY && records.length === 1) {
        return { inserted: 0, duplicates: 1 };
      }
      // Anything else is the store's trouble, not the event's: fail the batch so it is retried.
      return this.unavailable(err);
    }
  }

  async find(query: AuditQuery): Promise<AuditRecord[]> {
    await this.ensureIndexes();
    const clauses: Filter<AuditDocument>[] = [];
    const f = query.filter;
    if (f.kind === 'route') {
      clauses.push({
        'route.tenant': f.route.tenant,
        'route.service': f.route.service,
        'route.env': f.route.env,
        'route.version': f.route.version,
      });
    } else if (f.kind === 'action') {
      clauses.push({ action: f.action });
    } else if (f.from || f.to) {
      clauses.push({ occurred_at: { ...(f.from ? { $gte: f.from } : {}), ...(f.to ? { $lt: f.to } : {}) } });
    }
    // `$in` over plain strings: DocumentDB-safe, and served by the tenant_occurred_at index.
    if (query.tenants) clauses.push({ 'route.tenant': { $in: [...query.tenants] } });
    if (query.after) {
      const { occurredAt, eventId } = query.after;
      clauses.push({
        $or: [{ occurred_at: { $lt: occurredAt } }, { occurred_at: occurredAt, event_id: { $lt: eventId } }],
      });
    }
    const filter: Filter<AuditDocument> =
      clauses.length === 0 ? {} : clauses.length === 1 ? clauses[0]! : { $and: clauses };
    try {
      const docs = await this.collection
        .find(filter, { projection: { _id: 0 } })
        .sort({ occurred_at: -1, event_id: -1 })
        .limit(query.limit)
        .toArray();
      return docs.map(toRecord);
    } catch (err) {
      if (err instanceof MongoError) return this.unavailable(err);
      throw err;
    }
  }

  async ping(): Promise<void> {
    await this.db.command({ ping: 1 }).catch((err) => this.unavailable(err));
  }
}
