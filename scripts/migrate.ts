// `npm run migrate`: applies migrations/ to DATABASE_URL (creating the database if it is missing).

import { ensureDatabase, migrateUp } from '#shared/adapters/postgres/migrate';
import { getConfig } from '#shared/config/config';

const { database } = getConfig();
await ensureDatabase(database.url);
const applied = await migrateUp(database.url, { log: (m) => console.log(m) });
console.log(applied.length ? `applied: ${applied.join(', ')}` : 'schema up to date');
