-- A user API token made for another account carries its maker's scopes as a cap (scopes not
-- null): it grants its user's permissions as they are now, but never more than its maker held
-- when making it, so a role its user gains later does not reach whoever holds the token. A user
-- token made by its own user has no cap (scopes null), as before. The old check (0003) has a
-- generated name, so it is found by what it says.
DO $$
DECLARE
  old_check text;
BEGIN
  SELECT conname INTO STRICT old_check FROM pg_constraint
    WHERE conrelid = 'api_keys'::regclass AND contype = 'c'
      AND pg_get_constraintdef(oid) LIKE '%USER_TOKEN%scopes IS NULL%';
  EXECUTE format('ALTER TABLE api_keys DROP CONSTRAINT %I', old_check);
END $$;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check
  CHECK (kind = 'USER_TOKEN' OR scopes IS NOT NULL);
