import { isSplitEvent, type OutboxEvent } from '#shared/domain/outbox-event';
import type { AuditRecord, AuditStore } from '#shared/ports/audit-store.port';

export interface RecordAuditDeps {
  readonly store: AuditStore;
  readonly now: () => Date;
}

/** An event and, when it came from Kafka, where it was read (kept in the document's metadata). */
export interface AuditInput {
  readonly event: OutboxEvent;
  readonly topic?: string;
  readonly partition?: number;
  readonly offset?: number;
}

export const toAuditRecord = (input: AuditInput, processedAt: Date): AuditRecord => {
  const { event } = input;
  const common = {
    eventId: event.eventId,
    revision: event.revision,
    changedBy: event.changedBy,
    changedByTokenId: event.changedByTokenId ?? null,
    correlationId: event.correlationId,
    ...(!isSplitEvent(event) && event.batchId ? { batchId: event.batchId } : {}),
    occurredAt: new Date(event.occurredAt),
    processedAt,
    metadata:
      input.topic === undefined
        ? {}
        : { source: { topic: input.topic, partition: input.partition, offset: input.offset } },
  };
  if (isSplitEvent(event)) {
    // A split's trail: its (tenant, service, env), no URL or state, the weights before and after.
    return {
      ...common,
      eventType: event.eventType,
      action: event.action,
      route: { tenant: event.tenant, service: event.service, env: event.env },
      url: null,
      previousUrl: null,
      previousState: null,
      restoredRevision: null,
      weights: event.weights,
      previousWeights: event.previousWeights,
    };
  }
  return {
    ...common,
    eventType: event.eventType,
    action: event.action,
    route: { tenant: event.tenant, service: event.service, env: event.env, version: event.version },
    url: event.url,
    previousUrl: event.previousUrl,
    previousState: event.previousState,
    restoredRevision: event.restoredRevision ?? null,
  };
};

/**
 * Write one audit document per event:
 * 1. map each event to the audit document (the seed's shape plus revision and correlation id);
 * 2. append them in one batch; an event already recorded (redelivery) counts as done, not as an error.
 * A store failure throws (DependencyUnavailableError) so the batch is retried.
 */
export const recordAudit = async (
  deps: RecordAuditDeps,
  inputs: readonly AuditInput[],
): Promise<{ inserted: number; duplicates: number }> => {
  if (inputs.length === 0) return { inserted: 0, duplicates: 0 };
  const processedAt = deps.now();
  return deps.store.append(inputs.map((input) => toAuditRecord(input, processedAt)));
};
