// Imported first (a bare import) by test files whose handlers read the configuration: it is parsed
// once, on first use, so the shared services and this file's own audit database must be set before.
import { sharedKafkaBrokers } from '#test/support/kafka';
import { sharedMongoUrl, uniqueMongoDatabase } from '#test/support/mongo';

process.env.KAFKA_BROKERS = sharedKafkaBrokers();
process.env.MONGO_URL = sharedMongoUrl();
process.env.MONGO_DATABASE = uniqueMongoDatabase('events');
