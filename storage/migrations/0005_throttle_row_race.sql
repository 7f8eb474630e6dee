-- tessera_throttle_attempt (0004) inserted the subject's row if missing and then locked it; a
-- concurrent success (ThrottleStore::Clear) could delete the row in between, leaving the lock
-- to find nothing and the count to fail on nulls. Now it inserts and locks until it holds a row.
CREATE OR REPLACE FUNCTION tessera_throttle_attempt(p_subject text, p_now bigint, p_max integer,
                                                    p_window bigint, p_base bigint, p_cap bigint)
RETURNS TABLE (allowed boolean, failures integer, locked_until_us bigint)
LANGUAGE plpgsql AS $$
DECLARE
  r auth_throttle%ROWTYPE;
  n integer;
  lock_us bigint := 0;
BEGIN
  LOOP
    INSERT INTO auth_throttle AS t (subject, failures, last_failure_us)
    VALUES (p_subject, 0, p_now) ON CONFLICT (subject) DO NOTHING;
    SELECT * INTO r FROM auth_throttle AS t WHERE t.subject = p_subject FOR UPDATE;
    EXIT WHEN FOUND;
  END LOOP;
  IF r.locked_until_us > p_now THEN
    RETURN QUERY SELECT false, r.failures, r.locked_until_us;
    RETURN;
  END IF;
  n := CASE WHEN r.last_failure_us <= p_now - p_window THEN 1 ELSE r.failures + 1 END;
  IF n >= p_max THEN
    lock_us := p_now + least(p_cap::numeric, p_base::numeric * power(2::numeric, least(n - p_max, 40)))::bigint;
  END IF;
  UPDATE auth_throttle AS t SET failures = n, last_failure_us = p_now, locked_until_us = lock_us
  WHERE t.subject = p_subject;
  RETURN QUERY SELECT true, n, lock_us;
END $$;
