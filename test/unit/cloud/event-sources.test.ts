import { describe, expect, it, vi } from 'vitest';
import { onFailureRecord, startSchedules } from '../../../scripts/cloud/event-sources.ts';
import type { KafkaMapping } from '../../../scripts/cloud/triggers.ts';

const mapping: KafkaMapping = {
  logicalId: 'auditKafkaEventSource',
  functionId: 'audit',
  clusterArn: 'arn:aws:kafka:us-east-1:000000000000:cluster/c/local',
  topic: 'route-events',
  consumerGroup: 'traffic-manager-audit',
  batchSize: 100,
  batchingWindowMs: 0,
  startingPosition: 'TRIM_HORIZON',
  retryAttempts: 3,
  bisect: true,
  onFailure: 'arn:aws:sqs:us-east-1:000000000000:failures',
};

describe('the on-failure record of the MSK event source', () => {
  it('says where the failed records are, in the documented shape, without their data', () => {
    const record = onFailureRecord(
      mapping,
      'audit-fn',
      {
        topic: 'route-events',
        partition: 2,
        firstOffset: '10',
        lastOffset: '12',
        firstTimestamp: '1000',
        lastTimestamp: '1002',
        batchSize: 3,
        payloadSize: 300,
      },
      '127.0.0.1:19092',
    );
    expect(record).toMatchObject({
      requestContext: {
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:audit-fn',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 4,
      },
      responseContext: { functionError: 'Unhandled' },
      version: '1.0',
      KafkaBatchInfo: {
        batchSize: 3,
        eventSourceArn: mapping.clusterArn,
        bootstrapServers: '127.0.0.1:19092',
        recordsInfo: { 'route-events-2': { firstRecordOffset: '10', lastRecordOffset: '12' } },
      },
    });
    expect(JSON.stringify(record)).not.toContain('value');
  });
});

describe('the local schedules', () => {
  it('runs a function that outlasts its period again as soon as it ends, never two at once', async () => {
    vi.useFakeTimers();
    const starts: number[] = [];
    let running = 0;
    let most = 0;
    const invoke = async () => {
      starts.push(Date.now());
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 250));
      running--;
      return { ok: true as const };
    };
    const t0 = Date.now();
    const stop = startSchedules(
      [{ logicalId: 'RelaySchedule', functionId: 'relay', everyMs: 60_000, expression: 'rate(1 minute)' }],
      100,
      { invoke, functionName: (id) => id, say: () => {} },
    );
    await vi.advanceTimersByTimeAsync(1100);
    stop();
    vi.useRealTimers();

    expect(most).toBe(1);
    // Ticks every 100 ms merge into one run that starts as the previous one ends: no gap, no pile-up.
    expect(starts.map((t) => t - t0)).toEqual([0, 250, 500, 750, 1000]);
  });
});
