-- API keys: user API tokens (they inherit their user's current permissions, scopes IS NULL) and
-- service tokens (explicit scopes, plus a secret). Keys and secrets are stored only as peppered
-- HMAC-SHA-256 digests; display_prefix is the harmless start of the key, shown in listings.
CREATE TABLE api_keys (
  org_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  account_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('USER_TOKEN', 'SERVICE_TOKEN')),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  display_prefix text NOT NULL,
  digest text NOT NULL UNIQUE,
  scopes text[] CHECK ((kind = 'USER_TOKEN') = (scopes IS NULL)),
  secret_digest text CHECK ((kind = 'SERVICE_TOKEN') = (secret_digest IS NOT NULL)),
  -- After a rotation the previous secret keeps working until previous_valid_until.
  previous_secret_digest text,
  previous_valid_until timestamptz,
  created_at timestamptz NOT NULL,
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, account_id) REFERENCES accounts (org_id, id)
);
CREATE INDEX api_keys_account ON api_keys (org_id, account_id);
