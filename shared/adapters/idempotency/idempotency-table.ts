import {
  CreateTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { logger } from '#shared/observability/logger';

/**
 * Creates the idempotency table (as the CDK stack declares it) where it is missing: local runs and tests.
 * Expired records need no TTL to be ignored (Powertools checks `expiration` itself); TTL only deletes them.
 */
export const ensureIdempotencyTable = async (client: DynamoDBClient, tableName: string): Promise<void> => {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (err) {
    if (err instanceof ResourceInUseException) return;
    throw err;
  }
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: tableName });
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      }),
    );
  } catch (err) {
    // DynamoDB knows the operation; the local dynalite does not, and answers UnknownOperationException.
    if (!(err instanceof Error && err.name === 'UnknownOperationException')) throw err;
    logger.warn('idempotency table: this DynamoDB endpoint has no TTL; expired records stay until deleted', {
      table: tableName,
    });
  }
};
