import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../scripts/local/embedded-postgres.ts';
import {
  type KafkaHandle,
  type ServiceHandle,
  startKafka,
  startMongo,
} from '../../scripts/services/services.ts';
import { type RunningApi, startLocalApi } from '../support/local-runner.ts';
import { freePort, startPrivateRedis } from '../support/private-redis.ts';

type Redis = Awaited<ReturnType<typeof startPrivateRedis>>;
type Postgres = Awaited<ReturnType<typeof startEmbeddedPostgres>>;

/**
 * A whole private Traffic Manager for fault injection: its own Postgres, Redis, Kafka and Mongo-wire
 * server on OS-chosen ports, and the local runner wired to them. Each dependency can be stopped and
 * started again on the same port (and, for Postgres and Kafka, the same data) without touching the
 * machine's shared services.
 */
export class PrivateSystem {
  api!: RunningApi;
  private postgres!: Postgres;
  private redis!: Redis;
  private kafka!: KafkaHandle;
  private mongo!: ServiceHandle;
  private readonly dir = mkdtempSync(join(tmpdir(), 'tm-faults-'));
  private pgPort = 0;
  private redisPort = 0;
  private kafkaPorts = { port: 0, controllerPort: 0 };
  private mongoPort = 0;
  private readonly kafkaConfig = {
    'broker.session.timeout.ms': '3000',
    'broker.heartbeat.interval.ms': '1000',
  };

  get databaseUrl(): string {
    return this.postgres.url;
  }
  get mongoUrl(): string {
    return `mongodb://127.0.0.1:${this.mongoPort}`;
  }
  get kafkaBrokers(): string {
    return `127.0.0.1:${this.kafkaPorts.port}`;
  }
  get redisUrl(): string {
    return `redis://127.0.0.1:${this.redisPort}`;
  }

  async start(env: Record<string, string> = {}): Promise<this> {
    chmodSync(this.dir, 0o755); // embedded Postgres runs as its own user when we are root
    [this.pgPort, this.redisPort, this.mongoPort] = await Promise.all([freePort(), freePort(), freePort()]);
    this.kafkaPorts = { port: await freePort(), controllerPort: await freePort() };
    await Promise.all([this.startPostgres(), this.startRedis(), this.startKafka(), this.startMongo()]);
    this.api = await startLocalApi({
      DATABASE_URL: this.postgres.url,
      REDIS_URL: this.redisUrl,
      KAFKA_BROKERS: `127.0.0.1:${this.kafkaPorts.port}`,
      MONGO_URL: this.mongoUrl,
      LOG_LEVEL: 'ERROR',
      ...env,
    });
    return this;
  }

  startPostgres = async () => {
    this.postgres = await startEmbeddedPostgres(join(this.dir, 'pg'), this.pgPort);
  };
  stopPostgres = () => this.postgres.stop();

  startRedis = async () => {
    this.redis = await startPrivateRedis(this.redisPort || undefined);
    this.redisPort = this.redis.port;
  };
  stopRedis = () => this.redis.stop();

  startKafka = async () => {
    this.kafka = await startKafka({
      ...this.kafkaPorts,
      dataDir: join(this.dir, 'kafka'),
      config: this.kafkaConfig,
    });
  };
  killKafka = () => this.kafka.kill();

  startMongo = async () => {
    this.mongo = await startMongo({ port: this.mongoPort });
  };
  killMongo = () => this.mongo.kill();

  async sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: this.postgres.url });
    await client.connect();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  async mongoCount(filter: Record<string, unknown>): Promise<{ docs: number; distinctEvents: number }> {
    const client = new MongoClient(this.mongoUrl, { serverSelectionTimeoutMS: 3000 });
    try {
      const audit = client.db('traffic_manager').collection('route_audit');
      const docs = await audit.countDocuments(filter);
      const distinctEvents = (await audit.distinct('event_id', filter)).length;
      return { docs, distinctEvents };
    } finally {
      await client.close();
    }
  }

  async stop(): Promise<void> {
    await this.api?.stop().catch(() => {});
    await Promise.allSettled([
      this.postgres?.stop(),
      this.redis?.stop(),
      this.kafka?.stop(),
      this.mongo?.stop(),
    ]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls `check` until it returns true; resolves with the milliseconds it took. */
export const waitUntil = async (
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<number> => {
  const started = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};
