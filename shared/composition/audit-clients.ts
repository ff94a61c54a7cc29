import type { MongoClient } from 'mongodb';
import { MongoAuditStore } from '#shared/adapters/mongo/audit-store.mongo';
import { createMongoClient } from '#shared/adapters/mongo/mongo-client.mongo';
import { getConfig } from '#shared/config/config';
import { DependencyUnavailableError } from '#shared/domain/errors';
import type { AuditStore } from '#shared/ports/audit-store.port';
import type { RecordAuditDeps } from '#shared/use-cases/record-audit.use-case';

/** The audit store (DocumentDB / Mongo wire), built lazily once per container: the audit consumer and API. */
let mongo: Promise<MongoClient> | undefined;
let auditStore: AuditStore | undefined;

const getMongo = (): Promise<MongoClient> => {
  mongo ??= createMongoClient(getConfig().mongo).catch((err) => {
    mongo = undefined;
    throw new DependencyUnavailableError('audit_store', 'audit store credentials unavailable', {
      cause: err,
    });
  });
  return mongo;
};

/** The store is created on first use: credentials may come from Secrets Manager. */
class LazyAuditStore implements AuditStore {
  private store: Promise<MongoAuditStore> | undefined;

  private get(): Promise<MongoAuditStore> {
    this.store ??= getMongo()
      .then((client) => {
        const { database, createIndexes } = getConfig().mongo;
        return new MongoAuditStore(client.db(database), { createIndexes });
      })
      .catch((err) => {
        this.store = undefined;
        throw err;
      });
    return this.store;
  }

  async append(...args: Parameters<AuditStore['append']>) {
    return (await this.get()).append(...args);
  }

  async find(...args: Parameters<AuditStore['find']>) {
    return (await this.get()).find(...args);
  }

  async ping() {
    return (await this.get()).ping();
  }
}

export const getAuditStore = (): AuditStore => {
  auditStore ??= new LazyAuditStore();
  return auditStore;
};

export const getRecordAuditDeps = (): RecordAuditDeps => ({
  store: getAuditStore(),
  now: () => new Date(),
});

/** Closes the Mongo client (local runner shutdown, tests). */
export const closeAuditClients = async (): Promise<void> => {
  const m = mongo;
  mongo = undefined;
  auditStore = undefined;
  if (m) await m.then((c) => c.close()).catch(() => {});
};
