import type { MSKEvent, MSKRecord } from 'aws-lambda';
import type { OutboxEvent } from '#shared/domain/outbox-event';
import {
  EVENT_HEADERS,
  fromWireEvent,
  ROUTE_CHANGED,
  ROUTE_EVENT_SCHEMA_VERSION,
  routeEventSchema,
} from './route-event.schema.ts';
import { fromSplitWireEvent, SPLIT_CHANGED, splitEventSchema } from './split-event.schema.ts';

/** A record that decoded into a valid event, with where it came from. */
export interface ConsumedEvent {
  readonly event: OutboxEvent;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly correlationId: string | null;
}

export type DecodeResult =
  | { readonly ok: true; readonly value: ConsumedEvent }
  | { readonly ok: false; readonly reason: string };

/** The records of one topic-partition, in offset order. */
export interface PartitionBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly MSKRecord[];
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const strictBase64 = (s: unknown): Buffer | null =>
  typeof s === 'string' && BASE64.test(s) ? Buffer.from(s, 'base64') : null;

/** MSK delivers headers as `[{name: [byte, …]}]`; the last value of a repeated name wins. */
export const recordHeaders = (record: Pick<MSKRecord, 'headers'>): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const header of record.headers ?? []) {
    for (const [name, bytes] of Object.entries(header ?? {})) {
      if (Array.isArray(bytes)) out[name.toLowerCase()] = Buffer.from(bytes).toString('utf8');
    }
  }
  return out;
};

/**
 * Base64 → UTF-8 JSON → schema. Anything that fails is a poison record: retrying cannot fix it, so the
 * caller sends it to the failure destination instead of failing the batch.
 */
export const decodeMskRecord = (record: MSKRecord): DecodeResult => {
  const headers = recordHeaders(record);
  const type = headers[EVENT_HEADERS.eventType];
  if (type !== undefined && type !== ROUTE_CHANGED && type !== SPLIT_CHANGED)
    return { ok: false, reason: `unknown event type ${type}` };
  const version = headers[EVENT_HEADERS.schemaVersion];
  if (version !== undefined && version !== String(ROUTE_EVENT_SCHEMA_VERSION)) {
    return { ok: false, reason: `unsupported schema version ${version}` };
  }
  const bytes = strictBase64(record.value);
  if (!bytes || bytes.length === 0) return { ok: false, reason: 'value is not base64' };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return { ok: false, reason: 'value is not UTF-8 JSON' };
  }
  // The header names the type; without one (an older producer) the body's event_type does.
  const bodyType = (json as { event_type?: unknown } | null)?.event_type;
  const isSplit = (type ?? bodyType) === SPLIT_CHANGED;
  const parsed = isSplit ? splitEventSchema.safeParse(json) : routeEventSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || 'value'}: ${i.message}`);
    return { ok: false, reason: `schema: ${issues.join('; ')}` };
  }
  const event: OutboxEvent =
    parsed.data.event_type === SPLIT_CHANGED ? fromSplitWireEvent(parsed.data) : fromWireEvent(parsed.data);
  return {
    ok: true,
    value: {
      event,
      topic: record.topic,
      partition: record.partition,
      offset: Number(record.offset),
      correlationId: headers[EVENT_HEADERS.correlationId] ?? event.correlationId,
    },
  };
};

/**
 * The event's records grouped by topic-partition, each group sorted by offset. MSK already groups
 * them under `"<topic>-<partition>"`; grouping again by the records' own fields keeps this correct
 * for any producer of the payload (the local poller, tests).
 */
export const partitionBatches = (event: MSKEvent): PartitionBatch[] => {
  const groups = new Map<string, MSKRecord[]>();
  for (const records of Object.values(event.records ?? {})) {
    for (const record of records) {
      const id = `${record.topic}\u0000${record.partition}`;
      const list = groups.get(id);
      if (list) list.push(record);
      else groups.set(id, [record]);
    }
  }
  return [...groups.values()].map((records) => {
    records.sort((a, b) => Number(a.offset) - Number(b.offset));
    const first = records[0]!;
    return { topic: first.topic, partition: first.partition, records };
  });
};
