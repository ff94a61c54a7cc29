import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { type DeliveryPorts, deliverWithRetries } from '../../../scripts/local/event-source-poller.ts';

const record = (offset: number): KafkaMessage =>
  ({
    offset: String(offset),
    timestamp: '0',
    key: null,
    value: Buffer.from(`r${offset}`),
    headers: {},
  }) as KafkaMessage;

/** A function that fails every batch containing a poison offset; records what it was given. */
const harness = (poison: Set<number>, bisect: boolean) => {
  const invocations: number[][] = [];
  const failed: number[][] = [];
  const ports: DeliveryPorts = {
    invoke: async (records) => {
      const offsets = records.map((r) => Number(r.offset));
      invocations.push(offsets);
      if (offsets.some((o) => poison.has(o))) throw new Error('poison');
    },
    wait: async () => {},
    running: () => true,
    backoff: { initial: 1, max: 1 },
    onRetry: () => {},
    onFailure: async (records) => {
      failed.push(records.map((r) => Number(r.offset)));
    },
    bisect,
  };
  return { invocations, failed, ports };
};

describe('the MSK event source mapping retry rules, as the local poller applies them', () => {
  it('retries a failing batch, then bisects down to the poison record, which alone goes to on-failure', async () => {
    const { invocations, failed, ports } = harness(new Set([2]), true);
    const settled = await deliverWithRetries([0, 1, 2, 3].map(record), 1, ports);
    expect(settled).toBe(true);
    expect(failed).toEqual([[2]]);
    // Every other record was delivered in a batch that succeeded.
    const delivered = invocations.filter((b) => !b.includes(2)).flat();
    expect(delivered.sort()).toEqual([0, 1, 3]);
    // The whole batch was tried 1 + 1 times before the first split.
    expect(invocations.slice(0, 2)).toEqual([
      [0, 1, 2, 3],
      [0, 1, 2, 3],
    ]);
  });

  it('without bisect, sends the whole batch to on-failure after the retries', async () => {
    const { invocations, failed, ports } = harness(new Set([1]), false);
    await deliverWithRetries([0, 1, 2].map(record), 2, ports);
    expect(invocations).toHaveLength(3);
    expect(failed).toEqual([[0, 1, 2]]);
  });

  it('leaves the batch unsettled (no commit, no on-failure) when the poller stops', async () => {
    const { failed, ports } = harness(new Set([0]), true);
    let calls = 0;
    const settled = await deliverWithRetries([record(0)], 5, { ...ports, running: () => ++calls < 2 });
    expect(settled).toBe(false);
    expect(failed).toEqual([]);
  });
});
