import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { FailedRecord, FailureDestination } from '#shared/ports/failure-destination.port';

const SQS_BATCH_MAX = 10;

/**
 * Poison records as SQS messages (the same queue the event source mappings send exhausted batches to).
 * Each message body is the failed record as JSON: its coordinates, base64 key/value, headers and reason.
 */
export class SqsFailureDestination implements FailureDestination {
  readonly name = 'sqs';
  private readonly client: SQSClient;

  constructor(
    private readonly queueUrl: string,
    region: string,
  ) {
    // The Lambda runtime provides the SDK (bundles mark @aws-sdk/* external).
    this.client = new SQSClient({ region });
  }

  async send(records: readonly FailedRecord[]): Promise<void> {
    if (records.length === 0) return;
    for (let i = 0; i < records.length; i += SQS_BATCH_MAX) {
      const chunk = records.slice(i, i + SQS_BATCH_MAX);
      const out = await this.client
        .send(
          new SendMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: chunk.map((r, n) => ({
              Id: String(n),
              MessageBody: JSON.stringify({ kind: 'poison_record', ...r }),
              MessageAttributes: {
                consumer: { DataType: 'String', StringValue: r.consumer },
                reason: { DataType: 'String', StringValue: r.reason.slice(0, 256) },
              },
            })),
          }),
        )
        .catch((err: unknown) => {
          // Any error fails the batch, which is then retried: a record is never dropped silently.
          throw new Error('failure queue is unavailable', { cause: err });
        });
      if (out.Failed?.length) {
        throw new Error(
          `failure queue refused ${out.Failed.length} records: ${out.Failed[0]?.Message ?? 'unknown'}`,
        );
      }
    }
  }
}
