// Imported first by relay-publisher.test.ts: the configuration is parsed once, on first use. A database of
// its own, since the test runs the relay's claim, which takes every unpublished row it finds.
import { createPrivateDatabase } from './events/private-database.ts';

export const database = await createPrivateDatabase('relay_publisher');
process.env.DATABASE_URL = database.url;
process.env.EVENT_PUBLISHER = 'relay';
