-- Up Migration
-- Route URLs that mean one thing to every client (issue 16.4), enforced below the API too: a write that
-- bypasses it (a script, psql, a future endpoint) cannot store a URL with a backslash, control, bidi or
-- other invisible character, whitespace or non-ASCII. The API's rule (shared/domain/route.schema.ts:
-- the URL is its own WHATWG serialization and a strict RFC 3986 URI with the same host) is approximated:
--   * a lower-case http/https scheme and a non-empty authority;
--   * only the characters RFC 3986 allows (unreserved, reserved and "%"), so ASCII without controls,
--     spaces, "\", "|", "^", "`", "{", "}", "<", ">", '"' (which also excludes every bidi/invisible
--     character, U+FFFD and any non-ASCII; lone surrogates cannot be stored as UTF-8 at all);
--   * "%" only before two hex digits; no credentials (no "@" before the path).
-- What a regular expression cannot say: the WHATWG canonical form (lower-case host, no default port, no
-- dot segments, IPv4 numbers in dotted decimal, upper-case percent-escapes left as given), IDNA
-- validity of a punycode host, and that two parsers see the same host; those stay the API's.
-- NOT VALID: rows stored before this rule stay readable; every insert and update is checked (so a
-- legacy row with such a URL must get a new URL before its state can change).
ALTER TABLE endpoints ADD CONSTRAINT endpoints_url_canonical CHECK (
  url ~ '^https?://[^/?#]'
  AND url ~ '^https?://[][A-Za-z0-9._~:/?#@!$&''()*+,;=%-]+$'
  AND url !~ '%(?![0-9A-Fa-f]{2})'
  AND url !~ '^https?://[^/?#]*@'
) NOT VALID;

-- Down Migration
ALTER TABLE endpoints DROP CONSTRAINT IF EXISTS endpoints_url_canonical;
