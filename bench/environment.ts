// What the pipeline benches (writes.ts, propagation.ts) share: the services, an environment naming a
// per-run topic and audit database, a migrated Postgres with an empty outbox, and the consumer handlers
// wrapped to note when each record was applied.
import { fileURLToPath } from 'node:url';
import type { Context, MSKEvent } from 'aws-lambda';
import { stages } from '../infra/config/stages.ts';
import { ensureServices } from '../scripts/services/services.ts';
import { LAMBDA_EVENT_PUBLISHER } from '../shared/config/config.ts';

export const root = fileURLToPath(new URL('..', import.meta.url));

/** A record as the consumers receive it (the fields the benches key their timings by). */
export interface BenchRecord {
  readonly tenant: string;
  readonly version: string;
  readonly revision: number;
  readonly occurred_at: string;
}

/** Points this process's configuration at a bench database (no metrics, quiet logs) and migrates it. */
export const benchDatabase = async (database: string, env: Record<string, string> = {}): Promise<void> => {
  Object.assign(process.env, {
    DATABASE_URL: database,
    METRICS_BACKEND: 'none',
    LOG_LEVEL: 'ERROR',
    STAGE: 'bench',
    ...env,
  });
  const { ensureDatabase, migrateUp } = await import('#shared/adapters/postgres/migrate');
  await ensureDatabase(database);
  await migrateUp(database);
};

/**
 * Starts (or finds) the services and points this process's configuration at them, then migrates `database`.
 * The audit documents go to a database of their own, dropped by `dropAuditDatabase`: the local Mongo-wire
 * server's inserts slow down as a collection grows (0.85 ms per document into an empty one, 2.4 ms at
 * 19,000), so an audit trail kept across runs would make later runs slower.
 */
export const benchEnvironment = async (options: {
  readonly name: string;
  /** A database kept across runs; without it each run gets a new one, dropped by `dropDatabases`. */
  readonly database?: string;
  readonly env?: Record<string, string>;
}) => {
  const run = `${options.name}-${Date.now().toString(36)}`;
  const topic = `tm-bench-${run}`;
  const perRun = run.replaceAll('-', '_');
  const mongoDatabase = `tm_bench_${perRun}`;
  // A new database per run: one kept across runs grows with every run's routes and events, and its
  // writes cost more each time (Postgres CPU per create rose 1.4 -> 1.8 ms over four runs at 130,000 rows).
  const database = options.database ?? `postgres://postgres@127.0.0.1:5432/traffic_manager_bench_${perRun}`;
  const services = await ensureServices();
  await benchDatabase(database, {
    KAFKA_BROKERS: services.kafkaBrokers,
    MONGO_URL: services.mongoUrl,
    MONGO_DATABASE: mongoDatabase,
    ROUTE_EVENTS_TOPIC: topic,
    // Who publishes, as in Lambda (the relay), unless this run says otherwise (EVENT_PUBLISHER=writer …).
    EVENT_PUBLISHER: process.env.EVENT_PUBLISHER ?? LAMBDA_EVENT_PUBLISHER,
    RELAY_POLL_INTERVAL_MS:
      process.env.RELAY_POLL_INTERVAL_MS ?? String(stages.dev.events.relayPollIntervalMs),
    ...options.env,
  });
  const { getKafka } = await import('#shared/composition/publish-clients');
  const { getPgPool } = await import('#shared/composition/clients');
  const { ensureTopic } = await import('#shared/adapters/kafka/topic-admin.kafka');
  // Nothing from earlier runs may sit in this database's outbox (the relay would publish it here).
  await getPgPool().query('UPDATE route_events SET published_at = now() WHERE published_at IS NULL');
  const kafka = await getKafka();
  await ensureTopic(kafka, { topic, partitions: 6, replicationFactor: -1 });

  /** Drops what this run created: its audit database, and its Postgres database unless one was named. */
  const dropDatabases = async (): Promise<void> => {
    const { MongoClient } = await import('mongodb');
    const mongo = new MongoClient(services.mongoUrl, { directConnection: true });
    try {
      await mongo.db(mongoDatabase).dropDatabase();
    } finally {
      await mongo.close();
    }
    if (options.database) return;
    const { dropDatabase } = await import('#shared/adapters/postgres/migrate');
    await dropDatabase(database);
  };
  return { run, topic, services, kafka, dropDatabases };
};

export type ConsumerName = 'cacheInvalidation' | 'cacheWarming' | 'audit';

/**
 * The three consumer handlers as the route table declares them, each noting in `done[consumer]` when it
 * applied each record (keyed by `idOf`) and in `committedAt` the record's commit time.
 */
export const timedConsumers = async (options: {
  readonly run: string;
  readonly idOf: (record: BenchRecord) => string;
  readonly done: Record<ConsumerName, Map<string, number>>;
  readonly committedAt: Map<string, number>;
}) => {
  const { consumerFunctions } = await import('#functions/route-table');
  return Promise.all(
    (Object.keys(consumerFunctions) as ConsumerName[]).map(async (name) => {
      const spec = consumerFunctions[name];
      const mod = (await import(`${root}${spec.entry}`)) as Record<
        string,
        (e: MSKEvent, c: Context) => Promise<void>
      >;
      const real = mod[spec.handler]!;
      return {
        name,
        consumerGroup: `${spec.consumerGroup}-${options.run}`,
        // Timestamps each record the moment the real handler has applied its batch.
        handler: async (event: MSKEvent, context: Context) => {
          await real(event, context);
          const at = Date.now();
          for (const records of Object.values(event.records)) {
            for (const r of records) {
              const v = JSON.parse(Buffer.from(r.value, 'base64').toString()) as BenchRecord;
              const id = options.idOf(v);
              if (!options.done[name].has(id)) options.done[name].set(id, at);
              if (!options.committedAt.has(id)) options.committedAt.set(id, Date.parse(v.occurred_at));
            }
          }
        },
      };
    }),
  );
};
