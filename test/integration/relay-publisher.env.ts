// Imported first by relay-publisher.test.ts: the configuration is parsed once, on first use. A database and
// a topic of its own, since the test runs the relay's claim (it takes every unpublished row it finds) and
// other suites' consumers read the shared topic.
import { ensureTestTopic, sharedKafkaBrokers, uniqueTopic } from '#test/support/kafka';
import { createPrivateDatabase } from './events/private-database.ts';

export const database = await createPrivateDatabase('relay_publisher');
export const topic = uniqueTopic('relay-publisher');
await ensureTestTopic(sharedKafkaBrokers(), topic);
process.env.DATABASE_URL = database.url;
process.env.ROUTE_EVENTS_TOPIC = topic;
process.env.EVENT_PUBLISHER = 'relay';
