import { describe, expect, it } from 'vitest';
import { onFailureRecord } from '../../../scripts/cloud/event-sources.ts';
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
