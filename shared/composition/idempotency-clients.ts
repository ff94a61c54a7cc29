import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbIdempotencyStore } from '#shared/adapters/idempotency/idempotency.dynamodb';
import { getConfig } from '#shared/config/config';
import type { IdempotencyStore } from '#shared/ports/idempotency.port';

/** Idempotency-Key records (DynamoDB), for the write functions only. */
let dynamo: DynamoDBClient | undefined;
let idempotency: IdempotencyStore | undefined;

/** DynamoDB client: DYNAMODB_ENDPOINT points it at the local dynalite (which accepts any credentials). */
export const getDynamoClient = (): DynamoDBClient => {
  const { idempotency: c, awsRegion } = getConfig();
  dynamo ??= new DynamoDBClient({
    region: awsRegion,
    maxAttempts: 2,
    ...(c.dynamoEndpoint
      ? { endpoint: c.dynamoEndpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
  return dynamo;
};

export const getIdempotencyStore = (): IdempotencyStore => {
  idempotency ??= new DynamoDbIdempotencyStore(getDynamoClient(), getConfig().idempotency.table);
  return idempotency;
};

/** Forgets the clients (local runner shutdown, tests). */
export const closeIdempotencyClients = (): void => {
  dynamo?.destroy();
  dynamo = undefined;
  idempotency = undefined;
};
