/**
 * npx tsx scripts/services/cli.ts up|down|status
 *
 * up:     provide Kafka, Mongo-wire and DynamoDB (env var, else reuse the default port, else start detached).
 * down:   stop the detached instances recorded in .local/run/*.pid.
 * status: say which default ports answer.
 */
import { ensureServicesWithStatus, probeDefaults, stopServices } from './services.ts';

const ENV_LINES = (urls: { kafkaBrokers: string; mongoUrl: string; dynamoEndpoint: string }): string =>
  [
    `KAFKA_BROKERS=${urls.kafkaBrokers}`,
    `MONGO_URL=${urls.mongoUrl}`,
    `DYNAMODB_ENDPOINT=${urls.dynamoEndpoint}`,
  ].join('\n');

async function up(): Promise<void> {
  const t0 = Date.now();
  const { urls, services } = await ensureServicesWithStatus({ detached: true });
  for (const s of services) {
    const how =
      s.source === 'env'
        ? 'from env'
        : s.source === 'reused'
          ? 'reused'
          : `started in ${(s.ms / 1000).toFixed(1)} s`;
    console.log(`${s.name.padEnd(9)} ${how.padEnd(18)} ${s.url}${s.pid ? `  (pid ${s.pid})` : ''}`);
  }
  console.log(
    `\n${ENV_LINES(urls)}\n\nready in ${((Date.now() - t0) / 1000).toFixed(1)} s; logs in .local/logs/, stop with npm run services:down`,
  );
}

async function down(): Promise<void> {
  const results = await stopServices();
  if (results.length === 0) console.log('no detached services recorded in .local/run/');
  for (const r of results) console.log(`${r.name.padEnd(9)} pid ${r.pid}: ${r.outcome}`);
}

async function status(): Promise<void> {
  for (const s of await probeDefaults()) {
    console.log(
      `${s.name.padEnd(9)} ${s.up ? 'up  ' : 'down'} ${s.url}${s.pid ? `  (detached pid ${s.pid})` : ''}`,
    );
  }
}

// The AWS SDK warns once per process that Node 20 support ends; the probe client would print it on every run.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'NodeVersionSupportWarning' && !w.message.includes('AWS SDK for JavaScript'))
    console.warn(w);
});

const command = process.argv[2];
const commands: Record<string, () => Promise<void>> = { up, down, status };
const fn = command ? commands[command] : undefined;
if (!fn) {
  console.error('usage: tsx scripts/services/cli.ts up|down|status');
  process.exit(2);
}
try {
  await fn();
  // Probe clients (kafkajs, mongodb, AWS SDK) may leave sockets behind for a moment; do not wait for them.
  process.exit(0);
} catch (e) {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
}
