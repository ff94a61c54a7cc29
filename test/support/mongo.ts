import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { inject } from 'vitest';

/** The shared Mongo-wire server from global setup. */
export const sharedMongoUrl = (): string => {
  const url = inject('mongoUrl');
  if (!url) throw new Error('no Mongo: this test needs the services global setup provides');
  return url;
};

/** A database name no other test file uses (the audit collection starts empty). */
export const uniqueMongoDatabase = (prefix: string): string =>
  `tm_test_${prefix}_${randomUUID().slice(0, 8)}`.replaceAll('-', '_');

export const testMongoClient = (url = sharedMongoUrl()): MongoClient =>
  new MongoClient(url, { retryWrites: false, serverSelectionTimeoutMS: 5000 });
