/**
 * Local Kafka, Mongo-wire and DynamoDB services without Docker: the public API (tests, runners, bench).
 *
 * - kafka/kafka.ts:        Apache Kafka from Maven Central, one KRaft node (broker + controller).
 * - mongo/mongo.ts:        mongo-java-server from Maven Central (H2 backend on disk, or in memory).
 * - dynamodb/dynamodb.ts:  dynalite from npm (LevelDB on disk, or in memory).
 * - jvm.ts:                fetching with mvn, compiling our launcher, running a JVM; the tools it needs.
 * - process.ts:            the process handling they share (spawn, readiness, stop, pids, locks).
 * - shared-instances.ts:   the shared default instances: find or start, stop, reset, status.
 *
 * `startKafka` / `startMongo` / `startDynamo` start a private instance owned by the calling process (fault
 * injection tests: own ports, own data, `kill()` it without touching anything else). Such instances are
 * SIGKILLed when the calling process exits, and exit by themselves if it dies without running exit
 * handlers (java/ParentWatchdog.java, and dynalite-server.mjs itself, watch a stdin pipe).
 *
 * `ensureServices` gives the shared default instances (env var, else whatever already answers on the
 * default port, else a detached start recorded in `<home>/run/<name>.pid`) with durable data in
 * `<home>/data/`; `stopServices` stops only those detached instances; `resetServices` wipes their data.
 */
export {
  type StartDynamoOptions,
  startDynamo,
} from './dynamodb/dynamodb.ts';
export { fetchService } from './jvm.ts';
export {
  type KafkaHandle,
  type StartKafkaOptions,
  startKafka,
} from './kafka/kafka.ts';
export { DEFAULT_PORTS, HOME as SERVICES_HOME, type ServiceName } from './layout.ts';
export { type StartMongoOptions, startMongo } from './mongo/mongo.ts';
export { MissingToolsError, ServicesPrerequisiteError } from './prerequisites.ts';
export type { ServiceHandle } from './process.ts';
export {
  ensureServices,
  ensureServicesWithStatus,
  probeDefaults,
  type ResetResult,
  resetServices,
  type ServiceState,
  type ServiceStatus,
  type ServiceUrls,
  type StopResult,
  servicesLeftRunning,
  servicesStatus,
  stopServices,
} from './shared-instances.ts';
