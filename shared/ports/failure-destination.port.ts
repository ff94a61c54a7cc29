/** A consumed record that can never be processed (bad base64, JSON or schema), kept for inspection. */
export interface FailedRecord {
  /** The consuming function, e.g. `audit`. */
  readonly consumer: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number | null;
  /** The key as text (route keys are), the value as delivered (base64), so it can be replayed once fixed. */
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Record<string, string>;
  readonly reason: string;
}

/**
 * Where poison records go (a Postgres table locally, a queue in AWS). Sending the same record twice is
 * harmless: adapters deduplicate on (consumer, topic, partition, offset) where they can.
 */
export interface FailureDestination {
  readonly name: string;
  send(records: readonly FailedRecord[]): Promise<void>;
}
