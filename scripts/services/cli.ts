/**
 * npx tsx scripts/services/cli.ts up|down|status|reset
 *
 * up:     provide Kafka, Mongo-wire and DynamoDB (env var, else reuse the default port, else start detached).
 * down:   stop the detached instances recorded in <home>/run/*.pid; their data is kept.
 * status: each service's port, whether it answers, its pid if this checkout started it, its data folder.
 * reset:  down, then delete the data (topics, offsets, audit trail, idempotency keys).
 */
import { DATA_DIR, LOGS_DIR, relativeToRepo } from './layout.ts';
import { ensureServicesWithStatus, resetServices, servicesStatus, stopServices } from './services.ts';

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
    const data = s.data ? `, data ${relativeToRepo(s.data)}` : '';
    console.log(`${s.name.padEnd(9)} ${how.padEnd(18)} ${s.url}${s.pid ? `  (pid ${s.pid}${data})` : ''}`);
  }
  console.log(
    `\n${ENV_LINES(urls)}\n\nready in ${((Date.now() - t0) / 1000).toFixed(1)} s; logs in ${relativeToRepo(LOGS_DIR)}/, stop with npm run services:down`,
  );
}

async function down(): Promise<void> {
  const results = await stopServices();
  if (results.length === 0) console.log('no detached services recorded in .local/run/');
  for (const r of results) console.log(`${r.name.padEnd(9)} pid ${r.pid}: ${r.outcome}`);
  if (results.length > 0)
    console.log(`data kept in ${relativeToRepo(DATA_DIR)}/ (npm run services:reset wipes it)`);
}

async function status(): Promise<void> {
  const rows = (await servicesStatus()).map((s) => [
    s.name,
    String(s.port),
    s.up ? 'up' : 'down',
    s.pid ? String(s.pid) : '-',
    s.startedHere ? 'yes' : s.up ? 'no (not ours: left alone by down)' : 'no',
    relativeToRepo(s.data),
    s.env ? `runners use ${s.env}` : '',
  ]);
  const head = ['service', 'port', 'state', 'pid', 'started by this checkout', 'data', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [head, ...rows])
    console.log(
      row
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
}

async function reset(): Promise<void> {
  const { stopped, wiped } = await resetServices();
  for (const r of stopped) console.log(`${r.name.padEnd(9)} pid ${r.pid}: ${r.outcome}`);
  for (const dir of wiped) console.log(`wiped ${relativeToRepo(dir)}`);
  if (wiped.length === 0) console.log('no data to wipe');
  console.log('the next npm start (or npm run services:up) starts them empty');
}

// The AWS SDK warns once per process that Node 20 support ends; the probe client would print it on every run.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'NodeVersionSupportWarning' && !w.message.includes('AWS SDK for JavaScript'))
    console.warn(w);
});

const command = process.argv[2];
const commands: Record<string, () => Promise<void>> = { up, down, status, reset };
const fn = command ? commands[command] : undefined;
if (!fn) {
  console.error('usage: tsx scripts/services/cli.ts up|down|status|reset');
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
