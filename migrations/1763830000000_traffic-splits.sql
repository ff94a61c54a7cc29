-- Up Migration
-- Weighted, sticky traffic splits between the versions of a (tenant, service, env) (issue 14).
--
-- One row per environment that ever had a split. A deleted split keeps its row with weights NULL, so its
-- revisions never restart (the cache's revision rule needs them to only grow). revision is the split's
-- own (its ETag, in its events); cache_revision orders the cached resolve entry, which also carries the
-- URLs of the versions the split names: it is bumped by every split change and, through a trigger, by a
-- URL change of a named version. A row with revision 0 is a placeholder a refused write left behind.
CREATE TABLE traffic_splits (
  environment_id  bigint PRIMARY KEY REFERENCES environments (id),
  weights         jsonb CONSTRAINT traffic_splits_weights_object CHECK (weights IS NULL OR jsonb_typeof(weights) = 'object'),
  revision        bigint NOT NULL DEFAULT 0 CONSTRAINT traffic_splits_revision_range CHECK (revision >= 0),
  cache_revision  bigint NOT NULL DEFAULT 0 CONSTRAINT traffic_splits_cache_revision_range CHECK (cache_revision >= revision),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  created_by      text NOT NULL CONSTRAINT traffic_splits_created_by_length CHECK (char_length(created_by) BETWEEN 1 AND 256),
  updated_by      text NOT NULL CONSTRAINT traffic_splits_updated_by_length CHECK (char_length(updated_by) BETWEEN 1 AND 256)
);

-- split_changed events travel through the same outbox (and relay, topic and consumers) as route events.
-- Their version is '' (no route has an empty version), so the relay's per-route ordering groups a split's
-- events on their own, in revision order; they carry the weights before and after instead of a URL.
ALTER TABLE route_events DROP CONSTRAINT route_events_type;
ALTER TABLE route_events ADD CONSTRAINT route_events_type
  CHECK (event_type IN ('route_changed', 'split_changed')) NOT VALID;
ALTER TABLE route_events VALIDATE CONSTRAINT route_events_type;
ALTER TABLE route_events DROP CONSTRAINT route_events_action;
ALTER TABLE route_events ADD CONSTRAINT route_events_action
  CHECK (action IN ('created', 'updated', 'activated', 'deactivated', 'rolled_back', 'split_changed')) NOT VALID;
ALTER TABLE route_events VALIDATE CONSTRAINT route_events_action;
ALTER TABLE route_events ALTER COLUMN url DROP NOT NULL;
ALTER TABLE route_events ADD COLUMN weights jsonb;
ALTER TABLE route_events ADD COLUMN previous_weights jsonb;
ALTER TABLE route_events ADD COLUMN cache_revision bigint;
ALTER TABLE route_events ADD CONSTRAINT route_events_split_shape CHECK (
  CASE event_type
    WHEN 'split_changed' THEN action = 'split_changed' AND version = '' AND url IS NULL AND cache_revision IS NOT NULL
                              AND (weights IS NOT NULL OR previous_weights IS NOT NULL)
    ELSE action <> 'split_changed' AND url IS NOT NULL AND weights IS NULL AND previous_weights IS NULL
  END) NOT VALID;
ALTER TABLE route_events VALIDATE CONSTRAINT route_events_split_shape;

-- A split never names an inactive route: deactivating (or rolling back to inactive) a version a split
-- names is refused, naming the split. The writer holds the route's row lock here, and a split write
-- locks the routes it names (FOR SHARE) before it commits, so this sees every committed split.
CREATE FUNCTION tm_split_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE v_label text;
BEGIN
  SELECT t.name || '/' || s.name || '/' || en.name INTO v_label
    FROM traffic_splits sp
    JOIN environments en ON en.id = sp.environment_id
    JOIN services s ON s.id = en.service_id
    JOIN tenants t ON t.id = s.tenant_id
   WHERE sp.environment_id = NEW.environment_id AND sp.weights ? NEW.version;
  IF FOUND THEN
    RAISE EXCEPTION 'version % is part of the split of %; change the split first', NEW.version, v_label
      USING ERRCODE = 'TM409', DETAIL = v_label, HINT = NEW.version;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER endpoints_split_guard BEFORE UPDATE OF is_active ON endpoints
  FOR EACH ROW WHEN (OLD.is_active AND NOT NEW.is_active) EXECUTE FUNCTION tm_split_guard();

-- The cached split carries its versions' URLs: a URL change of a named version makes it a new entry.
CREATE FUNCTION tm_split_route_url_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE traffic_splits sp SET cache_revision = sp.cache_revision + 1
   WHERE sp.environment_id = NEW.environment_id AND sp.weights ? NEW.version;
  RETURN NULL;
END $$;

CREATE TRIGGER endpoints_split_cache_revision AFTER UPDATE OF url ON endpoints
  FOR EACH ROW WHEN (OLD.url IS DISTINCT FROM NEW.url) EXECUTE FUNCTION tm_split_route_url_changed();

-- Set a split's weights (create or update) in one transaction with its outbox event.
-- Outcomes: created | updated (with the event) | unchanged (same weights, no event) |
-- precondition_failed (with the current revision, NULL: no split) | version_unavailable (problem_version:
-- the first named version, in byte order, that is not an existing active route).
-- Locks: the named routes FOR SHARE, in byte order, then the split row: the order a route write takes
-- them too (its endpoint row, then the split row through the URL trigger).
CREATE FUNCTION tm_put_split(
  p_tenant text, p_service text, p_env text, p_weights jsonb, p_actor text, p_correlation_id text,
  p_publish_lease_ms integer, p_condition text, p_if_match bigint[], p_actor_token_id text
) RETURNS TABLE (outcome text, weights jsonb, revision bigint, cache_revision bigint, event jsonb, problem_version text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_env_id bigint;
  v_versions text[] := ARRAY(SELECT k FROM jsonb_object_keys(p_weights) k ORDER BY k COLLATE "C");
  v_split traffic_splits%ROWTYPE;
  v_current bigint;
  v_missing text;
  v_ev route_events%ROWTYPE;
BEGIN
  SELECT en.id INTO v_env_id FROM environments en
    JOIN services s ON s.id = en.service_id
    JOIN tenants t ON t.id = s.tenant_id
   WHERE t.name = p_tenant AND s.name = p_service AND en.name = p_env;
  IF v_env_id IS NULL THEN
    IF NOT tm_precondition_holds(NULL, p_condition, p_if_match) THEN
      RETURN QUERY SELECT 'precondition_failed'::text, NULL::jsonb, NULL::bigint, NULL::bigint, NULL::jsonb, NULL::text;
    ELSE
      RETURN QUERY SELECT 'version_unavailable'::text, NULL::jsonb, NULL::bigint, NULL::bigint, NULL::jsonb, v_versions[1];
    END IF;
    RETURN;
  END IF;

  PERFORM 1 FROM endpoints e WHERE e.environment_id = v_env_id AND e.version = ANY (v_versions)
    ORDER BY e.version COLLATE "C" FOR SHARE OF e;

  LOOP
    SELECT * INTO v_split FROM traffic_splits sp WHERE sp.environment_id = v_env_id FOR UPDATE;
    EXIT WHEN FOUND;
    INSERT INTO traffic_splits (environment_id, created_by, updated_by) VALUES (v_env_id, p_actor, p_actor)
      ON CONFLICT (environment_id) DO NOTHING;
  END LOOP;

  v_current := CASE WHEN v_split.weights IS NULL THEN NULL ELSE v_split.revision END;
  IF NOT tm_precondition_holds(v_current, p_condition, p_if_match) THEN
    RETURN QUERY SELECT 'precondition_failed'::text, v_split.weights, v_current, v_split.cache_revision, NULL::jsonb, NULL::text;
    RETURN;
  END IF;

  SELECT v INTO v_missing FROM unnest(v_versions) v
   WHERE NOT EXISTS (SELECT 1 FROM endpoints e WHERE e.environment_id = v_env_id AND e.version = v AND e.is_active)
   ORDER BY v COLLATE "C" LIMIT 1;
  IF v_missing IS NOT NULL THEN
    RETURN QUERY SELECT 'version_unavailable'::text, v_split.weights, v_current, v_split.cache_revision, NULL::jsonb, v_missing;
    RETURN;
  END IF;

  IF v_split.weights = p_weights THEN
    RETURN QUERY SELECT 'unchanged'::text, v_split.weights, v_split.revision, v_split.cache_revision, NULL::jsonb, NULL::text;
    RETURN;
  END IF;

  INSERT INTO route_events (event_type, action, tenant, service, env, version, url, revision, weights, previous_weights,
                            cache_revision, changed_by, changed_by_token_id, correlation_id, lease_until)
    VALUES ('split_changed', 'split_changed', p_tenant, p_service, p_env, '', NULL, v_split.revision + 1, p_weights,
            v_split.weights, v_split.cache_revision + 1, p_actor, p_actor_token_id, p_correlation_id,
            tm_publish_lease(p_tenant, p_service, p_env, '', p_publish_lease_ms))
    RETURNING * INTO v_ev;
  UPDATE traffic_splits sp
     SET weights = p_weights, revision = sp.revision + 1, cache_revision = sp.cache_revision + 1,
         updated_at = now(), updated_by = p_actor
   WHERE sp.environment_id = v_env_id
   RETURNING * INTO v_split;
  RETURN QUERY SELECT CASE WHEN v_ev.previous_weights IS NULL THEN 'created' ELSE 'updated' END,
    v_split.weights, v_split.revision, v_split.cache_revision, to_jsonb(v_ev), NULL::text;
END $$;

-- Delete a split (its row stays, weights NULL, revisions going on). Outcomes: deleted (with its event) |
-- not_found (no split) | precondition_failed (with the current revision, NULL: no split).
CREATE FUNCTION tm_delete_split(
  p_tenant text, p_service text, p_env text, p_actor text, p_correlation_id text,
  p_publish_lease_ms integer, p_condition text, p_if_match bigint[], p_actor_token_id text
) RETURNS TABLE (outcome text, weights jsonb, revision bigint, cache_revision bigint, event jsonb, problem_version text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_split traffic_splits%ROWTYPE;
  v_current bigint;
  v_ev route_events%ROWTYPE;
BEGIN
  SELECT sp.* INTO v_split FROM traffic_splits sp
    JOIN environments en ON en.id = sp.environment_id
    JOIN services s ON s.id = en.service_id
    JOIN tenants t ON t.id = s.tenant_id
   WHERE t.name = p_tenant AND s.name = p_service AND en.name = p_env
   FOR UPDATE OF sp;
  v_current := CASE WHEN v_split.weights IS NULL THEN NULL ELSE v_split.revision END;
  IF NOT tm_precondition_holds(v_current, p_condition, p_if_match) THEN
    RETURN QUERY SELECT 'precondition_failed'::text, NULL::jsonb, v_current, NULL::bigint, NULL::jsonb, NULL::text;
    RETURN;
  END IF;
  IF v_current IS NULL THEN
    RETURN QUERY SELECT 'not_found'::text, NULL::jsonb, NULL::bigint, NULL::bigint, NULL::jsonb, NULL::text;
    RETURN;
  END IF;

  INSERT INTO route_events (event_type, action, tenant, service, env, version, url, revision, weights, previous_weights,
                            cache_revision, changed_by, changed_by_token_id, correlation_id, lease_until)
    VALUES ('split_changed', 'split_changed', p_tenant, p_service, p_env, '', NULL, v_split.revision + 1, NULL,
            v_split.weights, v_split.cache_revision + 1, p_actor, p_actor_token_id, p_correlation_id,
            tm_publish_lease(p_tenant, p_service, p_env, '', p_publish_lease_ms))
    RETURNING * INTO v_ev;
  UPDATE traffic_splits sp
     SET weights = NULL, revision = sp.revision + 1, cache_revision = sp.cache_revision + 1,
         updated_at = now(), updated_by = p_actor
   WHERE sp.environment_id = v_split.environment_id
   RETURNING * INTO v_split;
  RETURN QUERY SELECT 'deleted'::text, NULL::jsonb, v_split.revision, v_split.cache_revision, to_jsonb(v_ev), NULL::text;
END $$;

-- Down Migration
DROP FUNCTION IF EXISTS tm_delete_split(text, text, text, text, text, integer, text, bigint[], text);
DROP FUNCTION IF EXISTS tm_put_split(text, text, text, jsonb, text, text, integer, text, bigint[], text);
DROP TRIGGER IF EXISTS endpoints_split_cache_revision ON endpoints;
DROP FUNCTION IF EXISTS tm_split_route_url_changed();
DROP TRIGGER IF EXISTS endpoints_split_guard ON endpoints;
DROP FUNCTION IF EXISTS tm_split_guard();
-- The older schema cannot hold split events: they go with the splits.
DELETE FROM route_events WHERE event_type = 'split_changed';
ALTER TABLE route_events DROP CONSTRAINT IF EXISTS route_events_split_shape;
ALTER TABLE route_events DROP COLUMN IF EXISTS cache_revision;
ALTER TABLE route_events DROP COLUMN IF EXISTS previous_weights;
ALTER TABLE route_events DROP COLUMN IF EXISTS weights;
ALTER TABLE route_events ALTER COLUMN url SET NOT NULL;
ALTER TABLE route_events DROP CONSTRAINT route_events_action;
ALTER TABLE route_events ADD CONSTRAINT route_events_action
  CHECK (action IN ('created', 'updated', 'activated', 'deactivated', 'rolled_back'));
ALTER TABLE route_events DROP CONSTRAINT route_events_type;
ALTER TABLE route_events ADD CONSTRAINT route_events_type CHECK (event_type = 'route_changed');
DROP TABLE IF EXISTS traffic_splits;
