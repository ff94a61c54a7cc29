// First: points the handlers' configuration at this file's audit database (read once, on first use).
import './events.env.ts';
import type { Context } from 'aws-lambda';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { handler as audit } from '#functions/consumers/audit.handler';
import { handler as invalidation } from '#functions/consumers/cache-invalidation.handler';
import { handler as warming } from '#functions/consumers/cache-warming.handler';
import { MongoAuditStore } from '#shared/adapters/mongo/audit-store.mongo';
import { createMongoClient } from '#shared/adapters/mongo/mongo-client.mongo';
import { PgRouteRepository } from '#shared/adapters/postgres/route-repository.pg';
import { closeAllClients } from '#shared/composition/shutdown';
import { getConfig } from '#shared/config/config';
import { cacheKeyOf, decodeEntry } from '#shared/domain/cache-entry';
import { DependencyUnavailableError } from '#shared/domain/errors';
import type { RouteKey } from '#shared/domain/route';
import { mskHandler } from '#shared/middleware/msk-handler';
import { recordAudit } from '#shared/use-cases/record-audit.use-case';
import { uniqueRouteKey } from '#test/support/fixtures';
import { uniqueTopic } from '#test/support/kafka';
import { testMongoClient } from '#test/support/mongo';
import { testPool } from '#test/support/pg';
import { mskEvent, mskRecord } from '../../unit/events/event-fakes.ts';

const mongoDatabase = process.env.MONGO_DATABASE!;
const pool = testPool();
const repository = new PgRouteRepository(pool);
const redis = new Redis(getConfig().cache.redisUrl!);
const mongo = testMongoClient();
const topic = uniqueTopic('consumers');
const context = { awsRequestId: 'test' } as Context;
const ctx = { changedBy: 'consumer-test', correlationId: 'req-consumers' };

afterAll(async () => {
  await mongo.db(mongoDatabase).dropDatabase();
  await Promise.all([mongo.close(), redis.quit(), pool.end(), closeAllClients()]);
});

const cached = async (key: RouteKey) => {
  const raw = await redis.get(cacheKeyOf(key));
  return raw === null ? null : decodeEntry(raw);
};

const auditDocs = (key: RouteKey) =>
  mongo
    .db(mongoDatabase)
    .collection('route_audit')
    .find({ 'route.tenant': key.tenant }, { projection: { _id: 0 } })
    .sort({ revision: 1 })
    .toArray();

describe('consumer handlers against Redis, Postgres and the audit store', () => {
  it('warms from the event at its revision, and neither consumer lets an older revision win', async () => {
    const key = uniqueRouteKey();
    const created = await repository.upsertRoute(key, 'https://v1.example.com', ctx);
    const updated = await repository.upsertRoute(key, 'https://v2.example.com', ctx);
    const rev1 = mskRecord(created.event!, { topic, offset: 0 });
    const rev2 = mskRecord(updated.event!, { topic, offset: 1 });

    await invalidation(mskEvent([rev2]), context);
    expect(await cached(key)).toEqual({ kind: 'tombstone', revision: 2 });

    await invalidation(mskEvent([rev1]), context);
    expect(await cached(key)).toEqual({ kind: 'tombstone', revision: 2 });

    await warming(mskEvent([rev1]), context);
    expect(await cached(key)).toEqual({ kind: 'tombstone', revision: 2 }); // older: refused

    await warming(mskEvent([rev1, rev2]), context);
    expect(await cached(key)).toEqual({ kind: 'active', revision: 2, url: 'https://v2.example.com' });

    const off = await repository.setRouteActive(key, false, ctx);
    await warming(mskEvent([rev2, mskRecord(off!.event!, { topic, offset: 2 })]), context);
    expect(await cached(key)).toEqual({ kind: 'inactive', revision: 3 });
  });

  it('writes one audit document per event, and a redelivered batch adds none', async () => {
    const key = uniqueRouteKey();
    const created = await repository.upsertRoute(key, 'https://v1.example.com', ctx);
    const updated = await repository.upsertRoute(key, 'https://v2.example.com', ctx);
    const batch = mskEvent([
      mskRecord(created.event!, { topic, offset: 10 }),
      mskRecord(updated.event!, { topic, offset: 11 }),
    ]);

    await audit(batch, context);
    await audit(batch, context);

    const docs = await auditDocs(key);
    expect(docs).toHaveLength(2);
    expect(docs[1]).toMatchObject({
      event_id: updated.event!.eventId,
      event_type: 'route_changed',
      action: 'updated',
      route: key,
      url: 'https://v2.example.com',
      previous_url: 'https://v1.example.com',
      previous_state: 'active',
      revision: 2,
      changed_by: 'consumer-test',
      correlation_id: 'req-consumers',
      occurred_at: new Date(updated.event!.occurredAt),
      metadata: { source: { topic, partition: 0, offset: 11 } },
    });
    expect(docs[1]!.processed_at).toBeInstanceOf(Date);
  });

  it('sends a poison record to the dead-letter table and processes the rest of the batch', async () => {
    const key = uniqueRouteKey();
    const created = await repository.upsertRoute(key, 'https://v1.example.com', ctx);
    const updated = await repository.upsertRoute(key, 'https://v2.example.com', ctx);
    const poison = {
      ...mskRecord(created.event!, { topic, partition: 1, offset: 21 }),
      value: Buffer.from('{"event_type":"route_changed"}').toString('base64'),
    };

    await audit(
      mskEvent([
        mskRecord(created.event!, { topic, partition: 1, offset: 20 }),
        poison,
        mskRecord(updated.event!, { topic, partition: 1, offset: 22 }),
      ]),
      context,
    );

    expect((await auditDocs(key)).map((d) => d.revision)).toEqual([1, 2]);
    const { rows } = await pool.query(
      'SELECT consumer, kafka_partition, kafka_offset, reason FROM event_dead_letters WHERE topic = $1',
      [topic],
    );
    expect(rows).toEqual([
      { consumer: 'audit', kafka_partition: 1, kafka_offset: 21, reason: expect.stringContaining('schema:') },
    ]);
  });

  it('fails the invocation while the audit store is down, so the batch is delivered again', async () => {
    const key = uniqueRouteKey();
    const created = await repository.upsertRoute(key, 'https://v1.example.com', ctx);
    const dead = await createMongoClient(
      { ...getConfig().mongo, url: 'mongodb://127.0.0.1:1' },
      { serverSelectionTimeoutMS: 300 },
    );
    const down = mskHandler(
      { consumer: 'audit', failureDestination: () => ({ name: 'x', send: async () => {} }) },
      (events) =>
        recordAudit({ store: new MongoAuditStore(dead.db('x')), now: () => new Date() }, events).then(
          () => {},
        ),
    );
    try {
      await expect(down(mskEvent([mskRecord(created.event!, { topic })]), context)).rejects.toBeInstanceOf(
        DependencyUnavailableError,
      );
    } finally {
      await dead.close();
    }
  });
});
