-- Brute-force throttling: failed authentications per subject ('account:<id>' for a known
-- account, 'login:<org slug>:<username>' for an unknown one, 'key:<id>' for a service token's
-- secret). Times are Unix microseconds, passed in by the service (its clock, not now()).
CREATE TABLE auth_throttle (
  subject text PRIMARY KEY CHECK (length(subject) <= 600),
  failures integer NOT NULL,
  last_failure_us bigint NOT NULL,
  locked_until_us bigint NOT NULL DEFAULT 0
);
CREATE INDEX auth_throttle_last_failure ON auth_throttle (last_failure_us);

-- Counts one failed (or, for a password login, one about-to-be-checked) attempt on `p_subject`,
-- atomically: the row lock serializes every replica's callers, so parallel guesses cannot slip
-- past the limit. While the subject is locked nothing changes and allowed is false. Otherwise
-- the count grows (or restarts at 1 when the last failure is older than the window) and, from
-- the p_max-th failure on, the subject is locked for p_base doubling with every further
-- failure, capped at p_cap.
CREATE FUNCTION tessera_throttle_attempt(p_subject text, p_now bigint, p_max integer,
                                         p_window bigint, p_base bigint, p_cap bigint)
RETURNS TABLE (allowed boolean, failures integer, locked_until_us bigint)
LANGUAGE plpgsql AS $$
DECLARE
  r auth_throttle%ROWTYPE;
  n integer;
  lock_us bigint := 0;
BEGIN
  INSERT INTO auth_throttle AS t (subject, failures, last_failure_us)
  VALUES (p_subject, 0, p_now) ON CONFLICT (subject) DO NOTHING;
  SELECT * INTO r FROM auth_throttle AS t WHERE t.subject = p_subject FOR UPDATE;
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
