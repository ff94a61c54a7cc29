-- Up Migration
-- A route write whose URL change bumps a split's cache revision (1763830000000_traffic-splits.sql) answers
-- that revision, so the writer tombstones the split's cached entry at it and reads its own write through a
-- resolve without a version at once, as it does through a resolve with one (issue 14).
--
-- The writers call it on the row the write function returned, in the same statement:
--   SELECT w.*, tm_split_cache_revision_of(w.event) FROM tm_upsert_route(...) w
-- It is VOLATILE so that it reads with a snapshot of its own, taken after the write function ran (a
-- PL/pgSQL set-returning function completes before its first row is read): a subquery in that SELECT
-- would read the statement's snapshot, from before the write. The transaction holds the split row's lock
-- from the URL trigger's UPDATE, so the revision read is the one this write (or a later statement of the
-- same transaction) produced. NULL: no event, an event that moved no URL, or a version no split names.
CREATE FUNCTION tm_split_cache_revision_of(p_event jsonb) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE v_revision bigint;
BEGIN
  IF p_event IS NULL OR NOT (p_event->>'action' IN ('updated', 'rolled_back'))
     OR p_event->>'url' IS NOT DISTINCT FROM p_event->>'previous_url' THEN
    RETURN NULL;
  END IF;
  SELECT sp.cache_revision INTO v_revision FROM traffic_splits sp
    JOIN environments en ON en.id = sp.environment_id
    JOIN services s ON s.id = en.service_id
    JOIN tenants t ON t.id = s.tenant_id
   WHERE t.name = p_event->>'tenant' AND s.name = p_event->>'service' AND en.name = p_event->>'env'
     AND sp.weights ? (p_event->>'version');
  RETURN v_revision;
END $$;

-- Down Migration
DROP FUNCTION IF EXISTS tm_split_cache_revision_of(jsonb);
