import { SqsFailureDestination } from '#shared/adapters/failure/failure-destination.sqs';
import { ENV } from '#shared/config/bindings';
import { ConfigError, getConfig, requireSetting } from '#shared/config/config';
import type { FailureDestination } from '#shared/ports/failure-destination.port';

/** Where the consumers park malformed records, built once per container. */
let failureDestination: Promise<FailureDestination> | undefined;

/**
 * SQS (the failure-queue binding, in AWS) or, locally, the Postgres dead-letter table. The local one is
 * imported only where it is selected, so a consumer without a database binding never evaluates the
 * Postgres client; without FAILURE_DESTINATION (Lambda: no binding) there is no destination at all.
 */
export const getFailureDestination = (): Promise<FailureDestination> => {
  failureDestination ??= (async (): Promise<FailureDestination> => {
    const { failure, kafka } = getConfig();
    switch (failure.destination) {
      case 'sqs':
        return new SqsFailureDestination(
          requireSetting(failure.queueUrl, ENV.failureQueue.queueUrl),
          kafka.region,
        );
      case 'postgres': {
        const [{ PgFailureDestination }, { getPgPool }] = await Promise.all([
          import('#shared/adapters/failure/failure-destination.pg'),
          import('./clients.ts'),
        ]);
        return new PgFailureDestination(getPgPool());
      }
      default:
        throw new ConfigError(`invalid configuration: ${ENV.failureQueue.destination} is not set`);
    }
  })().catch((err) => {
    failureDestination = undefined;
    throw err;
  });
  return failureDestination;
};

/** Forgets the destination (local runner shutdown, tests). */
export const closeFailureClients = (): void => {
  failureDestination = undefined;
};
