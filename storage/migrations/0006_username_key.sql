-- Usernames are compared case-insensitively after NFC normalization (core/names.h): the
-- application writes the folded form into username_key, and uniqueness, login and the
-- brute-force count of unknown names all compare it. Rows from before this migration get
-- lower(username), which is the same fold for every ASCII name; a name that differs only in
-- case from another of its organization stops the migration with a message naming both, since
-- one of them must be renamed before they can share the rule.
ALTER TABLE accounts ADD COLUMN username_key text;
UPDATE accounts SET username_key = lower(username);
DO $$
DECLARE
  clash record;
BEGIN
  SELECT org_id, string_agg(username, ', ' ORDER BY username) AS names INTO clash
    FROM accounts GROUP BY org_id, username_key HAVING count(*) > 1 LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'accounts % of organization % differ only in case; rename all but one',
      clash.names, clash.org_id;
  END IF;
END $$;
ALTER TABLE accounts ALTER COLUMN username_key SET NOT NULL;
CREATE UNIQUE INDEX accounts_username_key ON accounts (org_id, username_key);
