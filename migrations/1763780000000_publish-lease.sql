-- Up Migration
-- Publish leases: a write publishes its own event right after commit without holding a transaction.
--
-- The ordering rule gains one clause. A route is owned by whoever holds its HEAD (oldest unpublished
-- row): a relay by locking it (FOR UPDATE SKIP LOCKED, as before), or a writer by a lease on it. A write
-- leases its new event only when that event IS the head (no older event of the route unpublished), as it
-- inserts it, under the route's row lock; relays leave a route with a live lease alone. The writer then
-- publishes and marks the event published, or ends the lease on failure. A writer that dies mid-publish
-- loses nothing: the lease runs out and a relay publishes the event.
ALTER TABLE route_events ADD COLUMN lease_until timestamptz;

-- When a write may lease its new event: asked to (p_lease_ms > 0) and nothing older is unpublished.
-- Called under the route's row lock, so no older event can appear meanwhile.
CREATE FUNCTION tm_publish_lease(
  p_tenant text, p_service text, p_env text, p_version text, p_lease_ms integer
) RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN
  -- plpgsql, not sql: its query plan is cached per connection instead of planned on every call.
  IF p_lease_ms <= 0 OR EXISTS (
       SELECT 1 FROM route_events o
        WHERE o.published_at IS NULL
          AND o.tenant = p_tenant AND o.service = p_service AND o.env = p_env AND o.version = p_version) THEN
    RETURN NULL;
  END IF;
  RETURN clock_timestamp() + make_interval(secs => p_lease_ms / 1000.0);
END $$;

-- The write functions, with the lease length as a new last parameter (0: leave it to the relay); the event
-- JSON they return carries lease_until. Otherwise as in 1763750000000_route-store.sql, whose 7-argument
-- versions stay (they never lease) so that the down migration leaves working functions behind.

CREATE FUNCTION tm_upsert_route(
  p_tenant text, p_service text, p_env text, p_version text, p_url text, p_actor text, p_correlation_id text,
  p_publish_lease_ms integer
) RETURNS TABLE (outcome text, url text, is_active boolean, revision bigint, event jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_env_id bigint;
  v_ep endpoints%ROWTYPE;
  v_ev route_events%ROWTYPE;
BEGIN
  v_env_id := tm_ensure_environment(
    tm_ensure_service(tm_ensure_tenant(p_tenant, p_actor), p_service, p_actor), p_env, p_actor);

  INSERT INTO endpoints (environment_id, version, url, created_by, updated_by)
    VALUES (v_env_id, p_version, p_url, p_actor, p_actor)
    ON CONFLICT (environment_id, version) DO NOTHING
    RETURNING * INTO v_ep;
  IF FOUND THEN
    INSERT INTO route_events (action, tenant, service, env, version, url, revision, changed_by, correlation_id, lease_until)
      VALUES ('created', p_tenant, p_service, p_env, p_version, p_url, v_ep.revision, p_actor, p_correlation_id,
              tm_publish_lease(p_tenant, p_service, p_env, p_version, p_publish_lease_ms))
      RETURNING * INTO v_ev;
    RETURN QUERY SELECT 'created'::text, v_ep.url, v_ep.is_active, v_ep.revision, to_jsonb(v_ev);
    RETURN;
  END IF;

  SELECT * INTO STRICT v_ep FROM endpoints e WHERE e.environment_id = v_env_id AND e.version = p_version FOR UPDATE;
  IF v_ep.url = p_url THEN
    RETURN QUERY SELECT 'unchanged'::text, v_ep.url, v_ep.is_active, v_ep.revision, NULL::jsonb;
    RETURN;
  END IF;

  INSERT INTO route_events (action, tenant, service, env, version, url, previous_url, previous_state, revision, changed_by, correlation_id, lease_until)
    VALUES ('updated', p_tenant, p_service, p_env, p_version, p_url, v_ep.url,
            CASE WHEN v_ep.is_active THEN 'active' ELSE 'inactive' END, v_ep.revision + 1, p_actor, p_correlation_id,
            tm_publish_lease(p_tenant, p_service, p_env, p_version, p_publish_lease_ms))
    RETURNING * INTO v_ev;
  UPDATE endpoints e SET url = p_url, revision = e.revision + 1, updated_at = now(), updated_by = p_actor
    WHERE e.id = v_ep.id RETURNING * INTO v_ep;
  RETURN QUERY SELECT 'updated'::text, v_ep.url, v_ep.is_active, v_ep.revision, to_jsonb(v_ev);
END $$;

CREATE FUNCTION tm_set_route_active(
  p_tenant text, p_service text, p_env text, p_version text, p_active boolean, p_actor text, p_correlation_id text,
  p_publish_lease_ms integer
) RETURNS TABLE (outcome text, url text, is_active boolean, revision bigint, event jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_ep endpoints%ROWTYPE;
  v_ev route_events%ROWTYPE;
BEGIN
  SELECT e.* INTO v_ep FROM endpoints e
    JOIN environments en ON en.id = e.environment_id
    JOIN services s ON s.id = en.service_id
    JOIN tenants t ON t.id = s.tenant_id
    WHERE t.name = p_tenant AND s.name = p_service AND en.name = p_env AND e.version = p_version
    FOR UPDATE OF e;
  IF NOT FOUND THEN RETURN; END IF;

  IF v_ep.is_active = p_active THEN
    RETURN QUERY SELECT 'unchanged'::text, v_ep.url, v_ep.is_active, v_ep.revision, NULL::jsonb;
    RETURN;
  END IF;

  INSERT INTO route_events (action, tenant, service, env, version, url, previous_url, previous_state, revision, changed_by, correlation_id, lease_until)
    VALUES (CASE WHEN p_active THEN 'activated' ELSE 'deactivated' END, p_tenant, p_service, p_env, p_version,
            v_ep.url, v_ep.url, CASE WHEN v_ep.is_active THEN 'active' ELSE 'inactive' END, v_ep.revision + 1,
            p_actor, p_correlation_id, tm_publish_lease(p_tenant, p_service, p_env, p_version, p_publish_lease_ms))
    RETURNING * INTO v_ev;
  UPDATE endpoints e SET is_active = p_active, revision = e.revision + 1, updated_at = now(), updated_by = p_actor
    WHERE e.id = v_ep.id RETURNING * INTO v_ep;
  RETURN QUERY SELECT v_ev.action, v_ep.url, v_ep.is_active, v_ep.revision, to_jsonb(v_ev);
END $$;

-- Down Migration
DROP FUNCTION IF EXISTS tm_set_route_active(text, text, text, text, boolean, text, text, integer);
DROP FUNCTION IF EXISTS tm_upsert_route(text, text, text, text, text, text, text, integer);
DROP FUNCTION IF EXISTS tm_publish_lease(text, text, text, text, integer);
ALTER TABLE route_events DROP COLUMN IF EXISTS lease_until;
