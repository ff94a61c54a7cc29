import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { runWithCorrelationId } from '#shared/observability/logger';

export interface ProviderResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string | number>;
}

type CreateOrUpdate = Exclude<CloudFormationCustomResourceEvent, { RequestType: 'Delete' }>;

/**
 * The one chain for `custom-resources.Provider` onEvent functions: the request id as correlation id,
 * and Delete keeps what the resource made (schema, topic: their data outlives the stack). A thrown
 * error fails the deployment, which CloudFormation then rolls back.
 */
export const customResourceHandler =
  (createOrUpdate: (event: CreateOrUpdate) => Promise<ProviderResponse>) =>
  (event: CloudFormationCustomResourceEvent, context: Context): Promise<ProviderResponse> =>
    runWithCorrelationId(event.RequestId ?? context.awsRequestId, async () =>
      event.RequestType === 'Delete'
        ? { PhysicalResourceId: event.PhysicalResourceId }
        : createOrUpdate(event),
    );
