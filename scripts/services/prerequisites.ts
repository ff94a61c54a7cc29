import { ENV_VARS, type JvmServiceName } from './layout.ts';

/** A JVM service cannot be started here: the tools it needs are not on the PATH. */
export class MissingToolsError extends Error {
  override name = 'MissingToolsError';
  constructor(
    readonly service: JvmServiceName,
    readonly tools: readonly string[],
  ) {
    super(`${service}: ${tools.join(', ')} not found on the PATH`);
  }
}

const LABEL: Record<JvmServiceName, string> = { kafka: 'Kafka', mongo: 'the Mongo-wire server' };

/**
 * The local Kafka or Mongo-wire server cannot be started: the message names what is missing and the
 * choices, in a few lines, for a runner to print as is (no stack trace).
 */
export class ServicesPrerequisiteError extends Error {
  override name = 'ServicesPrerequisiteError';
  constructor(readonly missing: readonly MissingToolsError[]) {
    const services = missing.map((m) => LABEL[m.service]).join(' and ');
    const tools = [...new Set(missing.flatMap((m) => m.tools))].join(', ');
    const vars = missing
      .map((m) => `${ENV_VARS[m.service]}=${m.service === 'kafka' ? 'host:port' : 'mongodb://host:port'}`)
      .join(' ');
    super(
      [
        `cannot start ${services} here: ${tools} not found on the PATH.`,
        'Either:',
        '  - install a JDK 17+ and Maven (Debian/Ubuntu: apt-get install openjdk-17-jdk-headless maven) and run',
        '    this again; the first start fetches Kafka and mongo-java-server from Maven Central once; or',
        `  - name running services: ${vars} npm start`,
        '    (with Docker: `docker compose -f localstack-compose.yml up -d kafka mongo` serves both on the',
        '    default ports, 19092 and 27027, where npm start finds them without any variable).',
      ].join('\n'),
    );
  }
}
