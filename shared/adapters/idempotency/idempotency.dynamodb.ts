import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyPersistenceLayerError,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { ENV } from '#shared/config/bindings';
import { requireSetting } from '#shared/config/config';
import {
  DependencyUnavailableError,
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
} from '#shared/domain/errors';
import type { IdempotencyStore, IdempotentResult, Json } from '#shared/ports/idempotency.port';

const REPLAYED = '__tm_replayed';

/** Powertools Idempotency with DynamoDB persistence (conditional writes; TTL attribute `expiration`). */
export class DynamoDbIdempotencyStore implements IdempotencyStore {
  private readonly persistence: DynamoDBPersistenceLayer;

  constructor(
    client: DynamoDBClient,
    /** IDEMPOTENCY_TABLE (the idempotency binding); never a default in Lambda. */
    tableName: string | undefined,
    private readonly expiresAfterSeconds = 86_400,
  ) {
    this.persistence = new DynamoDBPersistenceLayer({
      tableName: requireSetting(tableName, ENV.idempotencyTable.table),
      awsSdkV3Client: client,
    });
  }

  async run<T extends Json>(
    key: string,
    payload: Json,
    fn: () => Promise<T>,
    opts: { remainingTimeMs: () => number },
  ): Promise<IdempotentResult<T>> {
    const config = new IdempotencyConfig({
      eventKeyJmesPath: 'key',
      payloadValidationJmesPath: 'payload',
      expiresAfterSeconds: this.expiresAfterSeconds,
      // Returned only for stored results: marks them so the caller can say it replayed.
      responseHook: (response) => ({ value: response as Json, [REPLAYED]: true }),
    });
    // The remaining time bounds the in-progress lock: a request that died mid-way frees its key then.
    config.registerLambdaContext({ getRemainingTimeInMillis: opts.remainingTimeMs } as Context);
    const once = makeIdempotent(async (_input: { key: string; payload: Json }) => fn(), {
      persistenceStore: this.persistence,
      config,
    });
    try {
      const out: unknown = await once({ key, payload });
      if (out !== null && typeof out === 'object' && REPLAYED in out) {
        return { value: (out as unknown as { value: T }).value, replayed: true };
      }
      return { value: out as T, replayed: false };
    } catch (err) {
      if (err instanceof IdempotencyValidationError) {
        throw new IdempotencyKeyReusedError('Idempotency-Key was already used with a different request body');
      }
      if (err instanceof IdempotencyAlreadyInProgressError) {
        throw new IdempotencyInProgressError(
          'a request with this Idempotency-Key is in progress; retry shortly',
        );
      }
      if (err instanceof IdempotencyPersistenceLayerError) {
        throw new DependencyUnavailableError('idempotency_store', 'idempotency store is unavailable', {
          cause: err,
        });
      }
      throw err;
    }
  }
}
