-- Access tokens revoked before they expire, by jti; a row is useless after expires_at and may be
-- pruned then.
CREATE TABLE revoked_access_tokens (
  org_id uuid NOT NULL REFERENCES organizations (id),
  jti text NOT NULL,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, jti)
);

-- "Log out everywhere": access tokens of the account issued before this instant are inactive.
ALTER TABLE accounts ADD COLUMN tokens_valid_after timestamptz;

CREATE INDEX refresh_tokens_account ON refresh_tokens (org_id, account_id);
