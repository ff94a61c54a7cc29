import type { AppFunctionId } from '#infra/config/stages';
import type { Bindings, KafkaConsumerUse, KafkaProducerUse } from '#shared/config/bindings';
import { ROUTE_EVENTS_TOPIC } from '#shared/config/bindings';
import { consumerFunctions } from './route-table.ts';

/**
 * The relay publishes with kafkajs' idempotent producer (event-publisher.kafka.ts). The write functions do
 * not: in Lambda they leave their events to the relay (EVENT_PUBLISHER=relay, shared/config/config.ts).
 */
const producer: KafkaProducerUse = { topic: ROUTE_EVENTS_TOPIC, idempotent: true };

const consumer = (id: keyof typeof consumerFunctions): KafkaConsumerUse => ({
  topic: ROUTE_EVENTS_TOPIC,
  consumerGroup: consumerFunctions[id].consumerGroup,
});

/**
 * What each function uses, declared once. The stateless stack binds exactly this (IAM, network and
 * environment through AppFunction.bind…); each handler's composition root checks its environment against
 * it at cold start (requireBindings); test/infra/function-manifest.test.ts proves from the bundles that
 * the code reaches nothing undeclared and from the templates that the roles and environments match.
 * A new route-table entry without a line here fails type-checking.
 */
export const functionManifest: Readonly<Record<AppFunctionId, Bindings>> = {
  // Rate limits live in the same Redis as the cache (cache-clients.ts: getAdmitDeps).
  resolveRoute: { database: true, cache: true },
  routeQuery: { database: true, cache: true },
  upsertRoute: { database: true, cache: true, idempotencyTable: true },
  setRouteState: { database: true, cache: true, idempotencyTable: true },
  batchRoutes: { database: true, cache: true, idempotencyTable: true },
  splitQuery: { database: true, cache: true },
  changeSplit: { database: true, cache: true, idempotencyTable: true },
  // Readiness probes Postgres (critical), the cache and Kafka (informational; metadata only).
  health: { database: true, cache: true, kafkaProbe: { topic: ROUTE_EVENTS_TOPIC } },
  auditQuery: { auditStore: true, cache: true },
  tokens: { database: true, cache: true, tokenHashKey: true },
  // Reads tokens through RDS Proxy and hashes with the key; no rate limit (API Gateway caches its answers).
  authorizer: { database: true, tokenHashKey: true },
  bootstrapAdminToken: { database: true, tokenHashKey: true },
  cacheInvalidation: { kafkaConsumer: consumer('cacheInvalidation'), cache: true, failureQueue: true },
  cacheWarming: {
    kafkaConsumer: consumer('cacheWarming'),
    database: true,
    cache: true,
    failureQueue: true,
  },
  audit: { kafkaConsumer: consumer('audit'), auditStore: true, failureQueue: true },
  outboxRelay: { database: true, kafkaProducer: producer },
  migrate: { database: true },
  createTopic: { kafkaAdmin: { topic: ROUTE_EVENTS_TOPIC } },
  // Connects as the DocumentDB master (the stack binds that secret here, not the app user's).
  auditStoreSetup: { auditStore: true },
};
