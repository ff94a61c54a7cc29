import { afterAll, describe, expect, it } from 'vitest';
import { PgFailureDestination } from '#shared/adapters/failure/failure-destination.pg';
import type { FailedRecord } from '#shared/ports/failure-destination.port';
import { uniqueTopic } from '#test/support/kafka';
import { testPool } from '#test/support/pg';

const pool = testPool();
afterAll(() => pool.end());

describe('PgFailureDestination', () => {
  it('keeps one dead letter per consumer and record, however often it is sent', async () => {
    const topic = uniqueTopic('dlq');
    const record: FailedRecord = {
      consumer: 'audit',
      topic,
      partition: 2,
      offset: 17,
      timestamp: Date.parse('2026-01-01T00:00:00Z'),
      key: 'a2V5',
      value: 'bm9wZQ==',
      headers: { 'x-correlation-id': 'req-1' },
      reason: 'value is not UTF-8 JSON',
    };
    const destination = new PgFailureDestination(pool);

    await destination.send([record]);
    await destination.send([record, { ...record, consumer: 'cache-warming' }]);

    const { rows } = await pool.query(
      `SELECT consumer, kafka_partition, kafka_offset, record_timestamp, record_key, record_value, headers, reason
         FROM event_dead_letters WHERE topic = $1 ORDER BY consumer`,
      [topic],
    );
    expect(rows).toEqual([
      {
        consumer: 'audit',
        kafka_partition: 2,
        kafka_offset: 17,
        record_timestamp: new Date('2026-01-01T00:00:00Z'),
        record_key: 'a2V5',
        record_value: 'bm9wZQ==',
        headers: { 'x-correlation-id': 'req-1' },
        reason: 'value is not UTF-8 JSON',
      },
      expect.objectContaining({ consumer: 'cache-warming' }),
    ]);
  });
});
