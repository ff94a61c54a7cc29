-- Up Migration
-- Token principals (issue 16): a name means one principal per tenant, system names are reserved, the
-- last active admin token is kept, and the administration trail names the acting token, not only its name.

-- The auth-off principal and the bootstrap actors are never token principals. NOT VALID: rows written
-- before this rule stay readable; every new row is checked.
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_principal_reserved
  CHECK (lower(principal) NOT IN ('anonymous', 'bootstrap') AND lower(principal) NOT LIKE 'bootstrap:%') NOT VALID;

-- Among live tokens (neither revoked nor expired), a principal name (case-insensitive) is held by one
-- token per tenant; an all-tenant token ("*", NULL here) shares a tenant with every token. The names the
-- bootstrap mints (local-admin, bootstrap-admin; the API refuses them) may be held by several tokens:
-- each forced bootstrap makes another. An advisory lock per name serialises concurrent creates; the
-- check's query runs with a snapshot taken after the lock (READ COMMITTED), so it sees a racing commit.
CREATE FUNCTION tm_api_token_principal_unique() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF lower(NEW.principal) IN ('local-admin', 'bootstrap-admin') THEN RETURN NEW; END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('tm_api_token_principal:' || lower(NEW.principal), 0));
  IF EXISTS (
    SELECT 1 FROM api_tokens t
     WHERE lower(t.principal) = lower(NEW.principal) AND t.id <> NEW.id
       AND t.revoked_at IS NULL AND t.expires_at > now()
       AND (t.tenants IS NULL OR NEW.tenants IS NULL OR t.tenants && NEW.tenants)
  ) THEN
    RAISE EXCEPTION 'principal % already names a live token on one of these tenants', NEW.principal
      USING ERRCODE = 'unique_violation', CONSTRAINT = 'api_tokens_principal_unique';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER api_tokens_principal_unique BEFORE INSERT ON api_tokens
  FOR EACH ROW EXECUTE FUNCTION tm_api_token_principal_unique();

CREATE INDEX api_tokens_principal_idx ON api_tokens (lower(principal)) WHERE revoked_at IS NULL;

-- The acting token's id beside its name (NULL: the bootstrap, or auth off).
ALTER TABLE token_audit ADD COLUMN actor_token_id text
  CONSTRAINT token_audit_actor_token_id_format CHECK (actor_token_id ~ '^[a-z2-7]{16}$');

-- Down Migration
ALTER TABLE token_audit DROP COLUMN IF EXISTS actor_token_id;
DROP INDEX IF EXISTS api_tokens_principal_idx;
DROP TRIGGER IF EXISTS api_tokens_principal_unique ON api_tokens;
DROP FUNCTION IF EXISTS tm_api_token_principal_unique();
ALTER TABLE api_tokens DROP CONSTRAINT IF EXISTS api_tokens_principal_reserved;
