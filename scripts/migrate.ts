// `npm run migrate`: applies migrations/ to DATABASE_URL (creating the database if it is missing).

import { ensureDatabase, migrateUp } from '#shared/adapters/postgres/migrate';
import { getConfig, requireSetting } from '#shared/config/config';

const url = requireSetting(getConfig().database.url, 'DATABASE_URL');
await ensureDatabase(url);
const applied = await migrateUp(url, { log: (m) => console.log(m) });
console.log(applied.length ? `applied: ${applied.join(', ')}` : 'schema up to date');
