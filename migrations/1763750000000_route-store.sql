-- Up Migration
-- Route store (tenants > services > environments > endpoints) and the transactional outbox.

CREATE TABLE tenants (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text NOT NULL CONSTRAINT tenants_name_format CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text NOT NULL CONSTRAINT tenants_created_by_length CHECK (char_length(created_by) BETWEEN 1 AND 256),
  CONSTRAINT tenants_name_key UNIQUE (name)
);

CREATE TABLE services (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id   bigint NOT NULL REFERENCES tenants (id),
  name        text NOT NULL CONSTRAINT services_name_format CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text NOT NULL CONSTRAINT services_created_by_length CHECK (char_length(created_by) BETWEEN 1 AND 256),
  CONSTRAINT services_tenant_name_key UNIQUE (tenant_id, name)
);

CREATE TABLE environments (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  service_id  bigint NOT NULL REFERENCES services (id),
  name        text NOT NULL CONSTRAINT environments_name_format CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text NOT NULL CONSTRAINT environments_created_by_length CHECK (char_length(created_by) BETWEEN 1 AND 256),
  CONSTRAINT environments_service_name_key UNIQUE (service_id, name)
);

CREATE TABLE endpoints (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  environment_id  bigint NOT NULL REFERENCES environments (id),
  version         text NOT NULL CONSTRAINT endpoints_version_format CHECK (version ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  url             text NOT NULL CONSTRAINT endpoints_url_format CHECK (char_length(url) <= 2048 AND url ~* '^https?://[^\s]+$'),
  is_active       boolean NOT NULL DEFAULT true,
  -- Bumped on every change; caches only let a newer revision replace an older one.
  revision        bigint NOT NULL DEFAULT 1 CONSTRAINT endpoints_revision_positive CHECK (revision > 0),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  created_by      text NOT NULL CONSTRAINT endpoints_created_by_length CHECK (char_length(created_by) BETWEEN 1 AND 256),
  updated_by      text NOT NULL CONSTRAINT endpoints_updated_by_length CHECK (char_length(updated_by) BETWEEN 1 AND 256),
  CONSTRAINT endpoints_environment_version_key UNIQUE (environment_id, version)
);

-- The transactional outbox: each change writes its full event in the same transaction.
-- published_at stays NULL until the broker acknowledged the event.
CREATE TABLE route_events (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id         uuid NOT NULL DEFAULT gen_random_uuid(),
  event_type       text NOT NULL DEFAULT 'route_changed' CONSTRAINT route_events_type CHECK (event_type = 'route_changed'),
  action           text NOT NULL CONSTRAINT route_events_action CHECK (action IN ('created', 'updated', 'activated', 'deactivated')),
  tenant           text NOT NULL,
  service          text NOT NULL,
  env              text NOT NULL,
  version          text NOT NULL,
  url              text NOT NULL,
  previous_url     text,
  previous_state   text CONSTRAINT route_events_previous_state CHECK (previous_state IN ('active', 'inactive')),
  revision         bigint NOT NULL,
  changed_by       text NOT NULL,
  correlation_id   text,
  occurred_at      timestamptz NOT NULL DEFAULT now(),
  published_at     timestamptz,
  publish_attempts integer NOT NULL DEFAULT 0,
  last_error       text,
  CONSTRAINT route_events_event_id_key UNIQUE (event_id)
);

CREATE INDEX route_events_unpublished_idx ON route_events (id) WHERE published_at IS NULL;
CREATE INDEX route_events_route_idx ON route_events (tenant, service, env, version, revision);

-- Get-or-create helpers: safe under concurrency (ON CONFLICT waits for a racing insert, and the
-- follow-up SELECT runs with a fresh snapshot under READ COMMITTED).
CREATE FUNCTION tm_ensure_tenant(p_name text, p_actor text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v_id bigint;
BEGIN
  SELECT id INTO v_id FROM tenants WHERE name = p_name;
  IF FOUND THEN RETURN v_id; END IF;
  INSERT INTO tenants (name, created_by) VALUES (p_name, p_actor) ON CONFLICT (name) DO NOTHING RETURNING id INTO v_id;
  IF FOUND THEN RETURN v_id; END IF;
  SELECT id INTO STRICT v_id FROM tenants WHERE name = p_name;
  RETURN v_id;
END $$;

CREATE FUNCTION tm_ensure_service(p_tenant_id bigint, p_name text, p_actor text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v_id bigint;
BEGIN
  SELECT id INTO v_id FROM services WHERE tenant_id = p_tenant_id AND name = p_name;
  IF FOUND THEN RETURN v_id; END IF;
  INSERT INTO services (tenant_id, name, created_by) VALUES (p_tenant_id, p_name, p_actor)
    ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id INTO v_id;
  IF FOUND THEN RETURN v_id; END IF;
  SELECT id INTO STRICT v_id FROM services WHERE tenant_id = p_tenant_id AND name = p_name;
  RETURN v_id;
END $$;

CREATE FUNCTION tm_ensure_environment(p_service_id bigint, p_name text, p_actor text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v_id bigint;
BEGIN
  SELECT id INTO v_id FROM environments WHERE service_id = p_service_id AND name = p_name;
  IF FOUND THEN RETURN v_id; END IF;
  INSERT INTO environments (service_id, name, created_by) VALUES (p_service_id, p_name, p_actor)
    ON CONFLICT (service_id, name) DO NOTHING RETURNING id INTO v_id;
  IF FOUND THEN RETURN v_id; END IF;
  SELECT id INTO STRICT v_id FROM environments WHERE service_id = p_service_id AND name = p_name;
  RETURN v_id;
END $$;

-- Create or update a route's URL in one transaction (one round trip from the API).
-- outcome: created | updated | unchanged; event is the outbox row as JSON, NULL when nothing changed.
CREATE FUNCTION tm_upsert_route(
  p_tenant text, p_service text, p_env text, p_version text, p_url text, p_actor text, p_correlation_id text
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
    INSERT INTO route_events (action, tenant, service, env, version, url, revision, changed_by, correlation_id)
      VALUES ('created', p_tenant, p_service, p_env, p_version, p_url, v_ep.revision, p_actor, p_correlation_id)
      RETURNING * INTO v_ev;
    RETURN QUERY SELECT 'created'::text, v_ep.url, v_ep.is_active, v_ep.revision, to_jsonb(v_ev);
    RETURN;
  END IF;

  SELECT * INTO STRICT v_ep FROM endpoints e WHERE e.environment_id = v_env_id AND e.version = p_version FOR UPDATE;
  IF v_ep.url = p_url THEN
    RETURN QUERY SELECT 'unchanged'::text, v_ep.url, v_ep.is_active, v_ep.revision, NULL::jsonb;
    RETURN;
  END IF;

  INSERT INTO route_events (action, tenant, service, env, version, url, previous_url, previous_state, revision, changed_by, correlation_id)
    VALUES ('updated', p_tenant, p_service, p_env, p_version, p_url, v_ep.url,
            CASE WHEN v_ep.is_active THEN 'active' ELSE 'inactive' END, v_ep.revision + 1, p_actor, p_correlation_id)
    RETURNING * INTO v_ev;
  UPDATE endpoints e SET url = p_url, revision = e.revision + 1, updated_at = now(), updated_by = p_actor
    WHERE e.id = v_ep.id RETURNING * INTO v_ep;
  RETURN QUERY SELECT 'updated'::text, v_ep.url, v_ep.is_active, v_ep.revision, to_jsonb(v_ev);
END $$;

-- Activate or deactivate an existing route; no rows when the route does not exist.
CREATE FUNCTION tm_set_route_active(
  p_tenant text, p_service text, p_env text, p_version text, p_active boolean, p_actor text, p_correlation_id text
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

  INSERT INTO route_events (action, tenant, service, env, version, url, previous_url, previous_state, revision, changed_by, correlation_id)
    VALUES (CASE WHEN p_active THEN 'activated' ELSE 'deactivated' END, p_tenant, p_service, p_env, p_version,
            v_ep.url, v_ep.url, CASE WHEN v_ep.is_active THEN 'active' ELSE 'inactive' END, v_ep.revision + 1,
            p_actor, p_correlation_id)
    RETURNING * INTO v_ev;
  UPDATE endpoints e SET is_active = p_active, revision = e.revision + 1, updated_at = now(), updated_by = p_actor
    WHERE e.id = v_ep.id RETURNING * INTO v_ep;
  RETURN QUERY SELECT v_ev.action, v_ep.url, v_ep.is_active, v_ep.revision, to_jsonb(v_ev);
END $$;

-- Down Migration
DROP FUNCTION IF EXISTS tm_set_route_active(text, text, text, text, boolean, text, text);
DROP FUNCTION IF EXISTS tm_upsert_route(text, text, text, text, text, text, text);
DROP FUNCTION IF EXISTS tm_ensure_environment(bigint, text, text);
DROP FUNCTION IF EXISTS tm_ensure_service(bigint, text, text);
DROP FUNCTION IF EXISTS tm_ensure_tenant(text, text);
DROP TABLE IF EXISTS route_events;
DROP TABLE IF EXISTS endpoints;
DROP TABLE IF EXISTS environments;
DROP TABLE IF EXISTS services;
DROP TABLE IF EXISTS tenants;
