-- Times cross the wire as Unix microseconds so that they are exact and always come from the
-- application's Clock, never from now() in SQL.
CREATE FUNCTION tessera_ts(us bigint) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT 'epoch'::timestamptz + us * interval '1 microsecond' $$;
CREATE FUNCTION tessera_us(t timestamptz) RETURNS bigint
  LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT (extract(epoch FROM t) * 1000000)::bigint $$;

-- The tenants. An organization's id is the org_id that every other tenant row carries.
CREATE TABLE organizations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  -- Organizations made by `tessera bootstrap`; their admins may create other organizations.
  platform boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL
);

CREATE TABLE accounts (
  org_id uuid NOT NULL REFERENCES organizations (id),
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  kind text NOT NULL CHECK (kind IN ('USER', 'SERVICE')),
  username text NOT NULL,
  email text,
  password_hash text NOT NULL,
  disabled boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, id),
  UNIQUE (org_id, username)
);
CREATE UNIQUE INDEX accounts_email ON accounts (org_id, lower(email)) WHERE email IS NOT NULL;

CREATE TABLE roles (
  org_id uuid NOT NULL REFERENCES organizations (id),
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL,
  scopes text[] NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, id),
  UNIQUE (org_id, name)
);

-- The composite foreign keys make a cross-tenant assignment impossible in the schema itself.
CREATE TABLE account_roles (
  org_id uuid NOT NULL,
  account_id uuid NOT NULL,
  role_id uuid NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, account_id, role_id),
  FOREIGN KEY (org_id, account_id) REFERENCES accounts (org_id, id),
  FOREIGN KEY (org_id, role_id) REFERENCES roles (org_id, id)
);

-- Signing keys are the service's own, not a tenant's. The private key is sealed with
-- AES-256-GCM under the key-encryption key, with the kid as associated data.
CREATE TABLE signing_keys (
  kid text PRIMARY KEY,
  alg text NOT NULL CHECK (alg IN ('ES256', 'RS256', 'EdDSA')),
  public_pem text NOT NULL,
  private_key_sealed bytea NOT NULL,
  created_at timestamptz NOT NULL,
  activates_at timestamptz NOT NULL,
  retired_at timestamptz,
  verify_until timestamptz
);

-- Refresh tokens, stored only as peppered digests. A family is one login and its descendants.
CREATE TABLE refresh_tokens (
  org_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  family_id uuid NOT NULL,
  parent_id uuid,
  account_id uuid NOT NULL,
  digest text NOT NULL UNIQUE,
  scopes text[] NOT NULL,
  audience text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  family_expires_at timestamptz NOT NULL,
  used_at timestamptz,
  revoked_at timestamptz,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, account_id) REFERENCES accounts (org_id, id)
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (org_id, family_id);

-- Append-only. org_id is null only for events that belong to no known organization (a login
-- attempt naming an unknown org).
CREATE TABLE audit_events (
  id bigserial PRIMARY KEY,
  org_id uuid REFERENCES organizations (id),
  occurred_at timestamptz NOT NULL,
  actor_id text NOT NULL,
  action text NOT NULL,
  target_type text NOT NULL,
  target_id text NOT NULL,
  peer text NOT NULL,
  request_id text NOT NULL,
  details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_org ON audit_events (org_id, id DESC);
