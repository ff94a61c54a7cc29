import { Redis } from 'ioredis';
import type { MongoClient } from 'mongodb';
import type { auditEventBody } from '#functions/audit/audit-query.schema';
import type { AuditDocument } from '#shared/adapters/mongo/audit-store.mongo';
import { cacheKeyOf, decodeEntry } from '#shared/domain/cache-entry';
import type { RouteKey } from '#shared/domain/route';
import { createPrivateDatabase, type PrivateDatabase } from '#test/integration/events/private-database';
import { deleteTestTopic, eventually, uniqueTopic } from '#test/support/kafka';
import { type RunningApi, startLocalApi } from '#test/support/local-runner';
import { testMongoClient, uniqueMongoDatabase } from '#test/support/mongo';

export type AuditEventJson = ReturnType<typeof auditEventBody>;
/** An audit page, or an error body (`error`, `field`). */
export interface AuditPageJson {
  readonly events: AuditEventJson[];
  readonly count: number;
  readonly next_cursor: string | null;
  readonly error?: string;
  readonly field?: string;
}

/**
 * `npm start`'s runner wired to this test file's own database, topic, consumer groups and audit
 * database, so e2e files can run side by side (the relay takes every unpublished row of its database).
 */
export interface EventsRunner {
  readonly api: RunningApi;
  readonly db: PrivateDatabase;
  readonly topic: string;
  readonly mongo: MongoClient;
  readonly mongoDatabase: string;
  readonly redis: Redis;
  call<T = AuditPageJson>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }>;
  cached(key: RouteKey): Promise<ReturnType<typeof decodeEntry>>;
  auditDocs(filter?: Record<string, unknown>): Promise<AuditDocument[]>;
  metric(name: string, consumer?: string): Promise<number>;
  stop(): Promise<void>;
}

export const startEventsRunner = async (
  prefix: string,
  env: { kafkaBrokers: string; mongoUrl: string; extra?: Record<string, string> },
): Promise<EventsRunner> => {
  const db = await createPrivateDatabase(prefix);
  const topic = uniqueTopic(prefix);
  const mongoDatabase = uniqueMongoDatabase(prefix);
  const api = await startLocalApi({
    DATABASE_URL: db.url,
    KAFKA_BROKERS: env.kafkaBrokers,
    MONGO_URL: env.mongoUrl,
    MONGO_DATABASE: mongoDatabase,
    ROUTE_EVENTS_TOPIC: topic,
    KAFKA_TOPIC_PARTITIONS: '3',
    CONSUMER_GROUP_SUFFIX: `-${topic}`,
    ...env.extra,
  });
  await eventually(async () => /events: .* running/.test(api.output()), {
    timeoutMs: 60_000,
    what: `the runner's consumers\n${api.output()}`,
  });
  const mongo = testMongoClient(env.mongoUrl);
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const call = async <T = AuditPageJson>(method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api.url}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as T };
  };
  return {
    api,
    db,
    topic,
    mongo,
    mongoDatabase,
    redis,
    call,
    cached: async (key) => {
      const raw = await redis.get(cacheKeyOf(key));
      return raw === null ? null : decodeEntry(raw);
    },
    auditDocs: (filter = {}) =>
      mongo
        .db(mongoDatabase)
        .collection<AuditDocument>('route_audit')
        .find(filter, { projection: { _id: 0 } })
        .toArray(),
    metric: async (name, consumer) => {
      const text = await (await fetch(`${api.url}/metrics`)).text();
      const label = consumer ? `{consumer="${consumer}"}` : '';
      const line = text.split('\n').find((l) => l.startsWith(`${name}${label} `));
      return line ? Number(line.split(' ')[1]) : 0;
    },
    stop: async () => {
      await api.stop();
      await mongo
        .db(mongoDatabase)
        .dropDatabase()
        .catch(() => {});
      await Promise.allSettled([
        mongo.close(),
        redis.quit(),
        db.drop(),
        deleteTestTopic(env.kafkaBrokers, topic),
      ]);
    },
  };
};
