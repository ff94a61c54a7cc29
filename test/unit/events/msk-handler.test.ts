import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '#shared/domain/errors';
import type { ConsumedEvent } from '#shared/events/msk-record';
import { mskHandler } from '#shared/middleware/msk-handler';
import { FakeFailureDestination, mskEvent, mskRecord, routeEvent } from './event-fakes.ts';

const context = { awsRequestId: 'req-1' } as Context;

const setup = (fn?: (events: readonly ConsumedEvent[]) => Promise<void>) => {
  const destination = new FakeFailureDestination();
  const calls: { partition: number; offsets: number[] }[] = [];
  const handler = mskHandler({ consumer: 'audit', failureDestination: () => destination }, async (events) => {
    calls.push({ partition: events[0]!.partition, offsets: events.map((e) => e.offset) });
    await fn?.(events);
  });
  return { handler, destination, calls };
};

describe('mskHandler', () => {
  it('hands each partition its valid events in offset order', async () => {
    const { handler, calls } = setup();

    await handler(
      mskEvent([
        mskRecord(routeEvent(), { partition: 0, offset: 2 }),
        mskRecord(routeEvent(), { partition: 1, offset: 5 }),
        mskRecord(routeEvent(), { partition: 0, offset: 1 }),
      ]),
      context,
    );

    expect(calls.sort((a, b) => a.partition - b.partition)).toEqual([
      { partition: 0, offsets: [1, 2] },
      { partition: 1, offsets: [5] },
    ]);
  });

  it('sends a malformed record to the failure destination and processes the rest of the batch', async () => {
    const { handler, destination, calls } = setup();
    const poison = { ...mskRecord(routeEvent(), { partition: 0, offset: 2 }), value: 'bm90IGpzb24=' };

    await handler(
      mskEvent([
        mskRecord(routeEvent(), { partition: 0, offset: 1 }),
        poison,
        mskRecord(routeEvent(), { partition: 0, offset: 3 }),
      ]),
      context,
    );

    expect(calls).toEqual([{ partition: 0, offsets: [1, 3] }]);
    expect(destination.sent).toEqual([
      expect.objectContaining({
        consumer: 'audit',
        topic: 'route-events',
        partition: 0,
        offset: 2,
        value: 'bm90IGpzb24=',
        reason: 'value is not UTF-8 JSON',
      }),
    ]);
  });

  it('fails the invocation on a transient error so the event source redelivers the batch', async () => {
    const { handler } = setup(async () => {
      throw new DependencyUnavailableError('audit_store', 'down');
    });

    await expect(handler(mskEvent([mskRecord(routeEvent())]), context)).rejects.toBeInstanceOf(
      DependencyUnavailableError,
    );
  });

  it('fails the invocation when the failure destination fails, never dropping a record', async () => {
    const { handler, destination } = setup();
    destination.failWith = new Error('queue down');

    await expect(handler(mskEvent([{ ...mskRecord(routeEvent()), value: '' }]), context)).rejects.toThrow(
      'queue down',
    );
  });

  it('lets other partitions finish before failing the invocation', async () => {
    let finished = 0;
    const { handler } = setup(async (events) => {
      if (events[0]!.partition === 0) throw new Error('boom');
      await new Promise((r) => setTimeout(r, 20));
      finished++;
    });

    await expect(
      handler(
        mskEvent([mskRecord(routeEvent(), { partition: 0 }), mskRecord(routeEvent(), { partition: 1 })]),
        context,
      ),
    ).rejects.toThrow('boom');
    expect(finished).toBe(1);
  });
});
