-- Up Migration
-- Marking events published (issue 15) commits without waiting for its WAL flush. A mark lost in a crash
-- only means a relay publishes those events again, which consumers absorb (at-least-once, idempotent,
-- revision-guarded); the change and its outbox row still commit synchronously, in the write's own
-- transaction. set_config(..., true) lasts to the end of the caller's transaction (this function has no
-- SET clause, so nothing restores it at return), and synchronous_commit is read at commit.
CREATE FUNCTION tm_mark_leased_published(p_event_ids uuid[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  marked integer;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  -- published_at IS NULL: a relay that took over an expired lease may have published the row already.
  UPDATE route_events
     SET published_at = now(), lease_until = NULL, publish_attempts = publish_attempts + 1, last_error = NULL
   WHERE event_id = ANY(p_event_ids) AND published_at IS NULL;
  GET DIAGNOSTICS marked = ROW_COUNT;
  RETURN marked;
END;
$$;

-- Down Migration
DROP FUNCTION IF EXISTS tm_mark_leased_published(uuid[]);
