-- Every name an account logs in by — its username and its email — in one namespace per
-- organization, compared by the folded key of core/names.h (case-insensitive, NFKC). One
-- namespace, so that nobody can create a username that takes over another account's email
-- login, and uniqueness, login and the count of an unknown name all use the same key. The
-- migrator fills it in C++ right after this file runs (storage/migrator.cc), since only
-- core/names.h folds names the way the service does; two accounts of one organization that
-- share a key stop the migration with a message naming them.
CREATE TABLE account_login_names (
  org_id uuid NOT NULL,
  name_key text NOT NULL,
  account_id uuid NOT NULL,
  PRIMARY KEY (org_id, name_key),
  FOREIGN KEY (org_id, account_id) REFERENCES accounts (org_id, id)
);
CREATE INDEX account_login_names_account ON account_login_names (org_id, account_id);
