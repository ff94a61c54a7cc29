-- Up Migration
-- API tokens (issue 6). A token is tm_<id>_<secret>: the id is public and is the lookup key; only an
-- HMAC-SHA256 of the secret is stored (with the id of the server key that made it, so keys can rotate).
-- Tokens are revoked, never deleted. Every create and revoke writes token_audit in the same statement
-- (one transaction), and token_audit is append-only.

CREATE TABLE api_tokens (
  id           text PRIMARY KEY CONSTRAINT api_tokens_id_format CHECK (id ~ '^[a-z2-7]{16}$'),
  secret_hash  bytea NOT NULL CONSTRAINT api_tokens_hash_length CHECK (octet_length(secret_hash) = 32),
  hash_key_id  text NOT NULL CONSTRAINT api_tokens_hash_key_id_format CHECK (hash_key_id ~ '^[0-9a-f]{16}$'),
  principal    text NOT NULL CONSTRAINT api_tokens_principal_format CHECK (principal ~ '^[A-Za-z0-9][A-Za-z0-9._@+:/-]{0,127}$'),
  role         text NOT NULL CONSTRAINT api_tokens_role CHECK (role IN ('resolver', 'writer', 'admin')),
  -- NULL: every tenant, including ones created later.
  tenants      text[] CONSTRAINT api_tokens_tenants CHECK (tenants IS NULL OR cardinality(tenants) BETWEEN 1 AND 50),
  created_at   timestamptz NOT NULL DEFAULT now(),
  created_by   text NOT NULL CONSTRAINT api_tokens_created_by_length CHECK (char_length(created_by) BETWEEN 1 AND 128),
  expires_at   timestamptz NOT NULL,
  revoked_at   timestamptz,
  revoked_by   text,
  CONSTRAINT api_tokens_admin_all_tenants CHECK (role <> 'admin' OR tenants IS NULL),
  CONSTRAINT api_tokens_revoked_pair CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);

CREATE INDEX api_tokens_created_idx ON api_tokens (created_at DESC, id DESC);
CREATE INDEX api_tokens_active_admin_idx ON api_tokens (expires_at) WHERE role = 'admin' AND revoked_at IS NULL;

CREATE TABLE token_audit (
  seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- The foreign key also keeps audited tokens from being deleted.
  token_id        text NOT NULL REFERENCES api_tokens (id),
  action          text NOT NULL CONSTRAINT token_audit_action CHECK (action IN ('created', 'revoked')),
  actor           text NOT NULL,
  principal       text NOT NULL,
  role            text NOT NULL,
  tenants         text[],
  expires_at      timestamptz NOT NULL,
  correlation_id  text,
  occurred_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX token_audit_token_idx ON token_audit (token_id, seq DESC);

CREATE FUNCTION tm_token_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'token_audit is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER token_audit_no_update_or_delete BEFORE UPDATE OR DELETE ON token_audit
  FOR EACH ROW EXECUTE FUNCTION tm_token_audit_append_only();
-- TRUNCATE skips row triggers.
CREATE TRIGGER token_audit_no_truncate BEFORE TRUNCATE ON token_audit
  FOR EACH STATEMENT EXECUTE FUNCTION tm_token_audit_append_only();

-- Down Migration
DROP TABLE IF EXISTS token_audit;
DROP FUNCTION IF EXISTS tm_token_audit_append_only();
DROP TABLE IF EXISTS api_tokens;
