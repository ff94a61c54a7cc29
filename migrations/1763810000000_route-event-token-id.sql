-- Up Migration
-- The acting token's id beside its principal's name in the outbox (issue 16.2): names are display
-- labels, the token id tells two tokens' changes apart. NULL: auth off, or rows written before this.
ALTER TABLE route_events ADD COLUMN changed_by_token_id text
  CONSTRAINT route_events_changed_by_token_id_format CHECK (changed_by_token_id ~ '^[a-z2-7]{16}$');

-- The write functions take the token id as one more last parameter. Rather than a fourth copy of each
-- function's body, the new signature sets a transaction-local setting around the call of the current one
-- and a trigger copies it into the outbox row: the row's RETURNING (the event the writer publishes)
-- already carries it, with no second write. The setting is cleared after the call, so a later statement
-- in the same transaction cannot inherit it; older signatures (no token id) leave the column NULL.
CREATE FUNCTION tm_route_event_token_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.changed_by_token_id IS NULL THEN
    NEW.changed_by_token_id := NULLIF(current_setting('tm.actor_token_id', true), '');
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER route_events_token_id BEFORE INSERT ON route_events
  FOR EACH ROW EXECUTE FUNCTION tm_route_event_token_id();

CREATE FUNCTION tm_upsert_route(
  p_tenant text, p_service text, p_env text, p_version text, p_url text, p_actor text, p_correlation_id text,
  p_publish_lease_ms integer, p_condition text, p_if_match bigint[], p_actor_token_id text
) RETURNS TABLE (outcome text, url text, is_active boolean, revision bigint, event jsonb)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('tm.actor_token_id', COALESCE(p_actor_token_id, ''), true);
  RETURN QUERY SELECT * FROM tm_upsert_route(p_tenant, p_service, p_env, p_version, p_url, p_actor,
    p_correlation_id, p_publish_lease_ms, p_condition, p_if_match);
  PERFORM set_config('tm.actor_token_id', '', true);
END $$;

CREATE FUNCTION tm_set_route_active(
  p_tenant text, p_service text, p_env text, p_version text, p_active boolean, p_actor text, p_correlation_id text,
  p_publish_lease_ms integer, p_condition text, p_if_match bigint[], p_actor_token_id text
) RETURNS TABLE (outcome text, url text, is_active boolean, revision bigint, event jsonb)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('tm.actor_token_id', COALESCE(p_actor_token_id, ''), true);
  RETURN QUERY SELECT * FROM tm_set_route_active(p_tenant, p_service, p_env, p_version, p_active, p_actor,
    p_correlation_id, p_publish_lease_ms, p_condition, p_if_match);
  PERFORM set_config('tm.actor_token_id', '', true);
END $$;

CREATE FUNCTION tm_rollback_route(
  p_tenant text, p_service text, p_env text, p_version text, p_to_revision bigint, p_actor text,
  p_correlation_id text, p_publish_lease_ms integer, p_condition text, p_if_match bigint[], p_actor_token_id text
) RETURNS TABLE (outcome text, url text, is_active boolean, revision bigint, event jsonb)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('tm.actor_token_id', COALESCE(p_actor_token_id, ''), true);
  RETURN QUERY SELECT * FROM tm_rollback_route(p_tenant, p_service, p_env, p_version, p_to_revision, p_actor,
    p_correlation_id, p_publish_lease_ms, p_condition, p_if_match);
  PERFORM set_config('tm.actor_token_id', '', true);
END $$;

-- Down Migration
DROP FUNCTION IF EXISTS tm_rollback_route(text, text, text, text, bigint, text, text, integer, text, bigint[], text);
DROP FUNCTION IF EXISTS tm_set_route_active(text, text, text, text, boolean, text, text, integer, text, bigint[], text);
DROP FUNCTION IF EXISTS tm_upsert_route(text, text, text, text, text, text, text, integer, text, bigint[], text);
DROP TRIGGER IF EXISTS route_events_token_id ON route_events;
DROP FUNCTION IF EXISTS tm_route_event_token_id();
ALTER TABLE route_events DROP COLUMN IF EXISTS changed_by_token_id;
