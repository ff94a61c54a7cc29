-- Up Migration
-- Event delivery: the outbox relay's per-route index, event times that follow revision order, and the
-- dead-letter table for records consumers can never process.

-- The relay and the after-commit publisher look up "the oldest unpublished row of this route"; this keeps
-- that lookup on unpublished rows only, however long a route's history grows.
CREATE INDEX route_events_unpublished_route_idx ON route_events (tenant, service, env, version, id)
  WHERE published_at IS NULL;

-- occurred_at orders a route's history (audit queries sort by it), so it must follow revision order:
-- * the default becomes clock_timestamp() at insert, i.e. after the route's row lock was taken (now() is
--   the transaction start: a write that began earlier but waited for the lock would look older than the
--   revision before it);
-- * and it is made strictly increasing per route at millisecond precision (what JSON and Mongo dates
--   keep): writes to one route are serialized by that lock, so the previous event is committed and
--   visible here. Under a burst on one route an event may be stamped up to a few ms late; never early.
ALTER TABLE route_events ALTER COLUMN occurred_at SET DEFAULT clock_timestamp();

CREATE FUNCTION tm_route_event_monotonic_time() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE v_prev timestamptz;
BEGIN
  SELECT occurred_at INTO v_prev FROM route_events
   WHERE tenant = NEW.tenant AND service = NEW.service AND env = NEW.env AND version = NEW.version
   ORDER BY revision DESC LIMIT 1;
  IF v_prev IS NOT NULL THEN
    NEW.occurred_at := GREATEST(NEW.occurred_at, date_trunc('milliseconds', v_prev) + interval '1 millisecond');
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER route_events_monotonic_time BEFORE INSERT ON route_events
  FOR EACH ROW EXECUTE FUNCTION tm_route_event_monotonic_time();

-- Poison records (bad base64, JSON or schema): kept with their coordinates so they can be inspected and
-- replayed; one row per (consumer, record) however often it is delivered.
CREATE TABLE event_dead_letters (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  consumer          text NOT NULL,
  topic             text NOT NULL,
  kafka_partition   integer NOT NULL,
  kafka_offset      bigint NOT NULL,
  record_timestamp  timestamptz,
  record_key        text,
  record_value      text,
  headers           jsonb NOT NULL DEFAULT '{}'::jsonb,
  reason            text NOT NULL,
  received_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT event_dead_letters_record_key UNIQUE (consumer, topic, kafka_partition, kafka_offset)
);

-- Down Migration
DROP TABLE IF EXISTS event_dead_letters;
DROP TRIGGER IF EXISTS route_events_monotonic_time ON route_events;
DROP FUNCTION IF EXISTS tm_route_event_monotonic_time();
ALTER TABLE route_events ALTER COLUMN occurred_at SET DEFAULT now();
DROP INDEX IF EXISTS route_events_unpublished_route_idx;
