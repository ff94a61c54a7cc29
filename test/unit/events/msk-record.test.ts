import type { MSKRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { decodeMskRecord, partitionBatches, recordHeaders } from '#shared/events/msk-record';
import { mskEvent, mskRecord, routeEvent } from './event-fakes.ts';

const withValue = (record: MSKRecord, value: string): MSKRecord => ({ ...record, value });
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('decodeMskRecord', () => {
  it('decodes a record into the event with its coordinates and correlation id', () => {
    const event = routeEvent({ correlationId: 'req-7' });

    const result = decodeMskRecord(mskRecord(event, { topic: 't', partition: 2, offset: 41 }));

    expect(result).toEqual({
      ok: true,
      value: { event, topic: 't', partition: 2, offset: 41, correlationId: 'req-7' },
    });
  });

  it.each([
    ['a value that is not base64', '%%%not-base64', 'value is not base64'],
    ['a value that is not JSON', b64('{nope'), 'value is not UTF-8 JSON'],
    ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x7b]).toString('base64'), 'value is not UTF-8 JSON'],
    ['JSON that breaks the schema', b64(JSON.stringify({ event_type: 'route_changed' })), 'schema:'],
    ['an empty value', '', 'value is not base64'],
  ])('reports %s as malformed', (_name, value, reason) => {
    const result = decodeMskRecord(withValue(mskRecord(routeEvent()), value));

    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
  });

  it('reports an unknown schema version from the headers as malformed', () => {
    const record = mskRecord(routeEvent());
    record.headers.push({ 'schema-version': [...Buffer.from('9')] });

    expect(decodeMskRecord(record)).toEqual({ ok: false, reason: 'unsupported schema version 9' });
  });

  it('reads byte-array headers, the last value of a repeated name winning', () => {
    expect(
      recordHeaders({ headers: [{ A: [...Buffer.from('1')] }, { a: [...Buffer.from('2')] }, { b: [] }] }),
    ).toEqual({ a: '2', b: '' });
  });
});

describe('partitionBatches', () => {
  it('groups records by partition and sorts each group by offset', () => {
    const [a, b, c] = [routeEvent(), routeEvent(), routeEvent()];
    const event = mskEvent([
      mskRecord(a, { partition: 1, offset: 9 }),
      mskRecord(b, { partition: 0, offset: 3 }),
      mskRecord(c, { partition: 1, offset: 4 }),
    ]);

    const batches = partitionBatches(event);

    expect(batches.map((x) => [x.partition, x.records.map((r) => r.offset)])).toEqual([
      [1, [4, 9]],
      [0, [3]],
    ]);
  });
});
