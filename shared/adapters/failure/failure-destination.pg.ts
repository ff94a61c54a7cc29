import { mapPgError } from '#shared/adapters/postgres/pg-errors';
import type { PgPool } from '#shared/adapters/postgres/pg-pool';
import type { FailedRecord, FailureDestination } from '#shared/ports/failure-destination.port';

const INSERT = `
  INSERT INTO event_dead_letters
    (consumer, topic, kafka_partition, kafka_offset, record_timestamp, record_key, record_value, headers, reason)
  SELECT consumer, topic, kafka_partition, kafka_offset, to_timestamp(ts / 1000.0), record_key, record_value,
         headers, reason
    FROM jsonb_to_recordset($1::jsonb) AS r(consumer text, topic text, kafka_partition integer,
         kafka_offset bigint, ts double precision, record_key text, record_value text, headers jsonb, reason text)
  ON CONFLICT ON CONSTRAINT event_dead_letters_record_key DO NOTHING`;

/** Poison records in the `event_dead_letters` table: one row per (consumer, record), however often sent. */
export class PgFailureDestination implements FailureDestination {
  readonly name = 'postgres';

  constructor(private readonly pool: PgPool) {}

  async send(records: readonly FailedRecord[]): Promise<void> {
    if (records.length === 0) return;
    const rows = records.map((r) => ({
      consumer: r.consumer,
      topic: r.topic,
      kafka_partition: r.partition,
      kafka_offset: r.offset,
      ts: r.timestamp,
      record_key: r.key,
      record_value: r.value,
      headers: r.headers,
      reason: r.reason,
    }));
    await this.pool.query(INSERT, [JSON.stringify(rows)]).catch((err) => mapPgError(err));
  }
}
