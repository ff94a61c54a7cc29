-- Up Migration
-- Route history, conditional writes and rollback (issue 13).
--
-- route_revisions keeps the URL and active state of every revision of every route, so a rollback can
-- restore one in the same transaction as its write. It is written by a trigger on endpoints, so every
-- write function (old signatures included) records its revision without a second round trip. The outbox
-- is not the history: its rows are a delivery queue, and their state after a change is implicit.
CREATE TABLE route_revisions (
  endpoint_id  bigint NOT NULL REFERENCES endpoints (id),
  revision     bigint NOT NULL,
  url          text NOT NULL,
  is_active    boolean NOT NULL,
  changed_at   timestamptz NOT NULL,
  changed_by   text NOT NULL,
  CONSTRAINT route_revisions_pkey PRIMARY KEY (endpoint_id, revision)
);

-- Backfill what the outbox knows (the state after each event), then each route's current state.
INSERT INTO route_revisions (endpoint_id, revision, url, is_active, changed_at, changed_by)
SELECT DISTINCT ON (e.id, r.revision) e.id, r.revision, r.url,
       CASE r.action WHEN 'created' THEN true WHEN 'activated' THEN true WHEN 'deactivated' THEN false
                     ELSE r.previous_state = 'active' END,
       r.occurred_at, r.changed_by
  FROM route_events r
  JOIN tenants t ON t.name = r.tenant
  JOIN services s ON s.tenant_id = t.id AND s.name = r.service
  JOIN environments en ON en.service_id = s.id AND en.name = r.env
  JOIN endpoints e ON e.environment_id = en.id AND e.version = r.version
 WHERE r.revision < e.revision
 ORDER BY e.id, r.revision, r.id;
INSERT INTO route_revisions (endpoint_id, revision, url, is_active, changed_at, changed_by)
SELECT id, revision, url, is_active, updated_at, updated_by FROM endpoints;

CREATE FUNCTION tm_record_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A change that does not bump the revision would break the cache's revision rule: refuse it here too.
  INSERT INTO route_revisions (endpoint_id, revision, url, is_active, changed_at, changed_by)
    VALUES (NEW.id, NEW.revision, NEW.url, NEW.is_active, NEW.updated_at, NEW.updated_by);
  RETURN NULL;
END $$;

CREATE TRIGGER endpoints_record_revision AFTER INSERT OR UPDATE OF url, is_active, revision ON endpoints
  FOR EACH ROW EXECUTE FUNCTION tm_record_revision();

-- The new action and what it restored. NOT VALID + VALIDATE: the check is swapped without holding an
-- exclusive lock on the outbox while existing rows are scanned.
ALTER TABLE route_events DROP CONSTRAINT route_events_action;
ALTER TABLE route_events ADD CONSTRAINT route_events_action
  CHECK (action IN ('created', 'updated', 'activated', 'deactivated', 'rolled_back')) NOT VALID;
ALTER TABLE route_events VALIDATE CONSTRAINT route_events_action;
ALTER TABLE route_events ADD COLUMN restored_revision bigint
  CONSTRAINT route_events_restored_revision CHECK ((action = 'rolled_back') = (restored_revision IS NOT NULL));

-- A route's row, locked until the transaction ends; all fields NULL when the route does not exist.
-- plpgsql, not sql: its query plan is cached per connection.
CREATE FUNCTION tm_lock_route(p_tenant text, p_service text, p_env text, p_version text)
RETURNS endpoints LANGUAGE plpgsql AS $$
DECLARE v_ep endpoints%ROWTYPE;
BEGIN
  SELECT e.* INTO v_ep FROM endpoints e
    JOIN environments en ON en.id = e.environment_id
    JOIN services s ON s.id = en.service_id
    JOIN tenants t ON t.id = s.tenant_id
    WHERE t.name = p_tenant AND s.name = p_service AND en.name = p_env AND e.version = p_version
    FOR UPDATE OF e;
  RETURN v_ep;
END $$;

-- Whether a write's precondition holds for a route at p_revision (NULL: the route does not exist).
CREATE FUNCTION tm_precondition_holds(p_revision bigint, p_condition text, p_if_match bigint[])
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE p_condition
    WHEN 'absent' THEN p_revision IS NULL
    WHEN 'exists' THEN p_revision IS NOT NULL
    WHEN 'revision' THEN COALESCE(p_revision = ANY (p_if_match), false)
    ELSE true
  END
$$;

-- The write functions with a precondition as two new last parameters, checked under the route's row lock:
--   p_condition NULL (none) | 'revision' (revision is one of p_if_match) | 'exists' | 'absent' (create only).
-- A failed precondition answers the outcome 'precondition_failed' with the route's current revision (NULL
-- when it does not exist) and writes nothing. Otherwise as in 1763780000000_publish-lease.sql, whose
-- versions stay (the down migration leaves working functions behind).

CREATE FUNCTION tm_upsert_route(
  p_tenant text, p_service text, p_env text, p_version text, p_url text, p_actor text, p_correlation_id text,
  p_publish_lease_ms integer, p_condition text, p_if_match bigint[]
) RETURNS TABLE (outcome text, url text, is_active boolean, revision bigint, event jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_env_id bigint;
  v_ep endpoints%ROWTYPE;
  v_ev route_events%ROWTYPE;
BEGIN
  IF p_condition IS NOT NULL THEN
    -- Look without creating the tenant, service or environment: a failed precondition leaves no trace.
    v_ep := tm_lock_route(p_tenant, p_service, p_env, p_version);
    IF NOT tm_precondition_holds(v_ep.revision, p_condition, p_if_match) THEN
      RETURN QUERY SELECT 'precondition_failed'::text, v_ep.url, v_ep.is_active, v_ep.revision, NULL::jsonb;
      RETURN;
    END IF;
  END IF;

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
  IF p_condition = 'absent' THEN
    -- Created by a concurrent writer after the check above: create-only still fails.
    RETURN QUERY SELECT 'precondition_failed'::text, v_ep.url, v_ep.is_active, v_ep.revision, NULL::jsonb;
    RETURN;
  END IF;
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
  p_publish_lease_ms integer, p_condition text, p_if_match bigint[]
) RETURNS TABLE (outcome text, url text, is_active boolean, revision bigint, event jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_ep endpoints%ROWTYPE;
  v_ev route_events%ROWTYPE;
BEGIN
  v_ep := tm_lock_route(p_tenant, p_service, p_env, p_version);
  IF v_ep.id IS NULL THEN RETURN; END IF;

  IF NOT tm_precondition_holds(v_ep.revision, p_condition, p_if_match) THEN
    RETURN QUERY SELECT 'precondition_failed'::text, v_ep.url, v_ep.is_active, v_ep.revision, NULL::jsonb;
    RETURN;
  END IF;

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

-- Restore the URL and active state of an earlier revision as a new revision (p_to_revision NULL: the one
-- before the latest change). No rows: the route does not exist. Outcomes: rolled_back (with its event),
-- unchanged (that state is the current one: no event, as for any no-op), nothing_to_roll_back (no such
-- earlier revision) and precondition_failed, the last two with the current revision.
CREATE FUNCTION tm_rollback_route(
  p_tenant text, p_service text, p_env text, p_version text, p_to_revision bigint, p_actor text,
  p_correlation_id text, p_publish_lease_ms integer, p_condition text, p_if_match bigint[]
) RETURNS TABLE (outcome text, url text, is_active boolean, revision bigint, event jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_ep endpoints%ROWTYPE;
  v_old route_revisions%ROWTYPE;
  v_ev route_events%ROWTYPE;
  v_target bigint;
BEGIN
  v_ep := tm_lock_route(p_tenant, p_service, p_env, p_version);
  IF v_ep.id IS NULL THEN RETURN; END IF;

  IF NOT tm_precondition_holds(v_ep.revision, p_condition, p_if_match) THEN
    RETURN QUERY SELECT 'precondition_failed'::text, v_ep.url, v_ep.is_active, v_ep.revision, NULL::jsonb;
    RETURN;
  END IF;

  v_target := COALESCE(p_to_revision, v_ep.revision - 1);
  IF v_target < v_ep.revision THEN
    SELECT * INTO v_old FROM route_revisions r WHERE r.endpoint_id = v_ep.id AND r.revision = v_target;
  END IF;
  IF v_old.endpoint_id IS NULL THEN
    RETURN QUERY SELECT 'nothing_to_roll_back'::text, v_ep.url, v_ep.is_active, v_ep.revision, NULL::jsonb;
    RETURN;
  END IF;

  IF v_old.url = v_ep.url AND v_old.is_active = v_ep.is_active THEN
    RETURN QUERY SELECT 'unchanged'::text, v_ep.url, v_ep.is_active, v_ep.revision, NULL::jsonb;
    RETURN;
  END IF;

  INSERT INTO route_events (action, tenant, service, env, version, url, previous_url, previous_state, revision,
                            restored_revision, changed_by, correlation_id, lease_until)
    VALUES ('rolled_back', p_tenant, p_service, p_env, p_version, v_old.url, v_ep.url,
            CASE WHEN v_ep.is_active THEN 'active' ELSE 'inactive' END, v_ep.revision + 1, v_target,
            p_actor, p_correlation_id, tm_publish_lease(p_tenant, p_service, p_env, p_version, p_publish_lease_ms))
    RETURNING * INTO v_ev;
  UPDATE endpoints e SET url = v_old.url, is_active = v_old.is_active, revision = e.revision + 1,
                         updated_at = now(), updated_by = p_actor
    WHERE e.id = v_ep.id RETURNING * INTO v_ep;
  RETURN QUERY SELECT 'rolled_back'::text, v_ep.url, v_ep.is_active, v_ep.revision, to_jsonb(v_ev);
END $$;

-- Down Migration
DROP FUNCTION IF EXISTS tm_rollback_route(text, text, text, text, bigint, text, text, integer, text, bigint[]);
DROP FUNCTION IF EXISTS tm_set_route_active(text, text, text, text, boolean, text, text, integer, text, bigint[]);
DROP FUNCTION IF EXISTS tm_upsert_route(text, text, text, text, text, text, text, integer, text, bigint[]);
DROP FUNCTION IF EXISTS tm_precondition_holds(bigint, text, bigint[]);
DROP FUNCTION IF EXISTS tm_lock_route(text, text, text, text);
ALTER TABLE route_events DROP COLUMN IF EXISTS restored_revision;
-- The old check knows no rollbacks: keep their rows (the outbox may still publish them) as updates.
UPDATE route_events SET action = 'updated' WHERE action = 'rolled_back';
ALTER TABLE route_events DROP CONSTRAINT route_events_action;
ALTER TABLE route_events ADD CONSTRAINT route_events_action
  CHECK (action IN ('created', 'updated', 'activated', 'deactivated'));
DROP TRIGGER IF EXISTS endpoints_record_revision ON endpoints;
DROP FUNCTION IF EXISTS tm_record_revision();
DROP TABLE IF EXISTS route_revisions;
