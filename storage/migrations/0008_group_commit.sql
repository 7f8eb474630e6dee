-- Group commit (storage/group_commit.h): the hot writes of many callers in one transaction and
-- one WAL flush, each batch sent as one statement. These functions do, per item and in the
-- same order, what the per-call transactions of pg_refresh_token_store.cc and
-- pg_revocation_store.cc do; a batch commits or fails as a whole, and the caller retries a
-- failed batch's items one by one so that one item's error never fails its neighbours.

-- Rotates a batch of refresh tokens (RefreshTokenStore::Rotate). Items are taken in the order
-- of their accounts, so two batches running at once lock accounts in one order and cannot
-- deadlock; two rotations of one token in one batch meet as they would in two transactions:
-- the second finds the first's child (a grace replay) under the same row lock.
-- r_outcome: 'unknown' (no such token or account), 'invalid', 'rotated', 'replayed', 'reused',
-- or 'busy' (the account is locked by another transaction and p_wait is false: nothing done).
-- A reuse revokes the family here; its change notification is sent by the caller.
CREATE FUNCTION tessera_rotate_refreshes(
    p_presented text[], p_child text[], p_now_us bigint[], p_grace_us bigint[],
    p_ttl_us bigint[], p_peer text[], p_request_id text[], p_wait boolean)
RETURNS TABLE (
    r_ord int, r_outcome text, r_org_id uuid, r_family_id uuid, r_account_id uuid,
    r_family_scopes text, r_audience text, r_child_id uuid, r_child_created_us bigint,
    r_family_expires_us bigint, r_account_scopes text,
    a_id uuid, a_org_id uuid, a_kind text, a_username text, a_email text, a_disabled boolean,
    a_created_us bigint, a_roles text,
    o_id uuid, o_slug text, o_name text, o_platform boolean, o_created_us bigint)
LANGUAGE plpgsql AS $$
DECLARE
  item record;
  sessions record;
  t record;
  c record;
  now_ts timestamptz;
BEGIN
  FOR item IN
    -- Scalar subqueries, one index lookup each: a join here may be planned as a hash join
    -- over every refresh token there is.
    SELECT i.n::int AS n, i.presented, i.child, i.now_us, i.grace_us, i.ttl_us, i.peer,
           i.request_id,
           (SELECT o.org_id FROM refresh_tokens o WHERE o.digest = i.presented) AS owner_org,
           (SELECT o.account_id FROM refresh_tokens o WHERE o.digest = i.presented)
             AS owner_account
    FROM unnest(p_presented, p_child, p_now_us, p_grace_us, p_ttl_us, p_peer, p_request_id)
           WITH ORDINALITY AS i(presented, child, now_us, grace_us, ttl_us, peer, request_id, n)
    ORDER BY owner_org, owner_account, i.n
  LOOP
    r_ord := item.n;
    r_outcome := 'unknown';
    r_org_id := NULL; r_family_id := NULL; r_account_id := NULL; r_family_scopes := NULL;
    r_audience := NULL; r_child_id := NULL; r_child_created_us := NULL;
    r_family_expires_us := NULL; r_account_scopes := NULL;
    a_id := NULL; a_org_id := NULL; a_kind := NULL; a_username := NULL; a_email := NULL;
    a_disabled := NULL; a_created_us := NULL; a_roles := NULL;
    o_id := NULL; o_slug := NULL; o_name := NULL; o_platform := NULL; o_created_us := NULL;
    IF item.owner_org IS NULL THEN RETURN NEXT; CONTINUE; END IF;

    -- The account's sessions lock (LockAccountSessions in pg_internal.h), account first. A
    -- batch does not wait for an account another transaction holds (a long revocation, say):
    -- that item is 'busy' and its caller commits it alone, so one account's lock holds up
    -- no other caller.
    IF p_wait THEN
      SELECT acc.disabled, acc.tokens_valid_after INTO sessions FROM accounts acc
        WHERE acc.org_id = item.owner_org AND acc.id = item.owner_account FOR NO KEY UPDATE;
    ELSE
      SELECT acc.disabled, acc.tokens_valid_after INTO sessions FROM accounts acc
        WHERE acc.org_id = item.owner_org AND acc.id = item.owner_account
        FOR NO KEY UPDATE SKIP LOCKED;
      IF NOT FOUND THEN
        PERFORM 1 FROM accounts acc
          WHERE acc.org_id = item.owner_org AND acc.id = item.owner_account;
        IF FOUND THEN r_outcome := 'busy'; END IF;
        RETURN NEXT; CONTINUE;
      END IF;
    END IF;
    IF NOT FOUND THEN RETURN NEXT; CONTINUE; END IF;
    SELECT tok.org_id, tok.id, tok.family_id, tok.account_id,
           tok.scopes, array_to_string(tok.scopes, ' ') AS family_scopes, tok.audience, tok.expires_at,
           tok.family_expires_at, tok.used_at, tok.revoked_at IS NOT NULL AS revoked,
           tok.created_at,
           coalesce((SELECT string_agg(DISTINCT s, ' ') FROM account_roles ar
             JOIN roles r ON r.org_id = ar.org_id AND r.id = ar.role_id, unnest(r.scopes) s
             WHERE ar.org_id = a.org_id AND ar.account_id = a.id), '') AS account_scopes,
           a.id AS a_id, a.org_id AS a_org_id, a.kind, a.username, coalesce(a.email, '') AS email,
           a.disabled, tessera_us(a.created_at) AS a_created_us,
           coalesce((SELECT string_agg(r.name, ' ' ORDER BY r.name) FROM account_roles ar
             JOIN roles r ON r.org_id = ar.org_id AND r.id = ar.role_id
             WHERE ar.org_id = a.org_id AND ar.account_id = a.id), '') AS roles,
           o.id AS o_id, o.slug, o.name, o.platform, tessera_us(o.created_at) AS o_created_us
      INTO t
      FROM refresh_tokens tok
      JOIN accounts a ON a.org_id = tok.org_id AND a.id = tok.account_id
      JOIN organizations o ON o.id = tok.org_id
      WHERE tok.digest = item.presented FOR UPDATE OF tok;
    IF NOT FOUND THEN RETURN NEXT; CONTINUE; END IF;
    r_org_id := t.org_id; r_family_id := t.family_id; r_account_id := t.account_id;
    r_family_scopes := t.family_scopes; r_audience := t.audience;
    r_family_expires_us := tessera_us(t.family_expires_at); r_account_scopes := t.account_scopes;
    a_id := t.a_id; a_org_id := t.a_org_id; a_kind := t.kind; a_username := t.username;
    a_email := t.email; a_disabled := t.disabled; a_created_us := t.a_created_us;
    a_roles := t.roles;
    o_id := t.o_id; o_slug := t.slug; o_name := t.name; o_platform := t.platform;
    o_created_us := t.o_created_us;
    now_ts := tessera_ts(item.now_us);

    IF t.revoked OR sessions.disabled
       OR (sessions.tokens_valid_after IS NOT NULL AND t.created_at <= sessions.tokens_valid_after)
       OR now_ts >= t.expires_at OR now_ts >= t.family_expires_at THEN
      r_outcome := 'invalid';
      RETURN NEXT; CONTINUE;
    END IF;

    IF t.used_at IS NULL THEN
      INSERT INTO refresh_tokens (org_id, family_id, parent_id, account_id, digest, scopes,
                                  audience, created_at, expires_at, family_expires_at)
        VALUES (t.org_id, t.family_id, t.id, t.account_id, item.child, t.scopes, t.audience,
                now_ts, least(now_ts + item.ttl_us * interval '1 microsecond',
                t.family_expires_at), t.family_expires_at)
        RETURNING id INTO r_child_id;
      UPDATE refresh_tokens SET used_at = now_ts WHERE org_id = t.org_id AND id = t.id;
      r_child_created_us := item.now_us;
      INSERT INTO audit_events (org_id, occurred_at, actor_id, action, target_type, target_id,
                                peer, request_id, details)
        VALUES (t.org_id, now_ts, t.account_id::text, 'token.refreshed', 'token_family',
                t.family_id::text, item.peer, item.request_id, '{}');
      r_outcome := 'rotated';
      RETURN NEXT; CONTINUE;
    END IF;

    -- Spent. Only a retry of the immediate parent of the newest token, within the grace window,
    -- gets the same child back; anything else is a stolen or replayed token.
    SELECT ch.id, ch.created_at, ch.digest, ch.used_at IS NULL AS unused INTO c
      FROM refresh_tokens ch WHERE ch.org_id = t.org_id AND ch.parent_id = t.id;
    IF FOUND AND item.now_us - tessera_us(t.used_at) <= item.grace_us AND c.unused
       AND c.digest = item.child THEN
      r_child_id := c.id;
      r_child_created_us := tessera_us(c.created_at);
      r_outcome := 'replayed';
      RETURN NEXT; CONTINUE;
    END IF;
    UPDATE refresh_tokens SET revoked_at = now_ts
      WHERE org_id = t.org_id AND family_id = t.family_id AND revoked_at IS NULL;
    INSERT INTO audit_events (org_id, occurred_at, actor_id, action, target_type, target_id,
                              peer, request_id, details)
      VALUES (t.org_id, now_ts, t.account_id::text, 'refresh.reuse_detected', 'token_family',
              t.family_id::text, item.peer, item.request_id, '{}');
    r_outcome := 'reused';
    RETURN NEXT;
  END LOOP;
END
$$;

-- Revokes a batch of access tokens by jti (RevocationStore::RevokeAccessToken): idempotent per
-- item; a newly revoked one gets its audit row and sends its change, encoded by the caller, on
-- the caller's channel (kChangeChannel).
-- r_revoked is false for a jti that was revoked already (or twice in the batch).
CREATE FUNCTION tessera_revoke_access_tokens(
    p_org_id uuid[], p_jti text[], p_expires_us bigint[], p_now_us bigint[],
    p_actor_id text[], p_peer text[], p_request_id text[], p_change text[], p_channel text)
RETURNS TABLE (r_ord int, r_revoked boolean)
LANGUAGE plpgsql AS $$
DECLARE
  item record;
BEGIN
  FOR item IN
    SELECT i.*
    FROM unnest(p_org_id, p_jti, p_expires_us, p_now_us, p_actor_id, p_peer, p_request_id,
                p_change)
           WITH ORDINALITY AS i(org_id, jti, expires_us, now_us, actor_id, peer, request_id,
                                change, n)
    -- In key order, as every batch inserts: two batches inserting the same jtis cannot each
    -- wait for a row the other inserted first.
    ORDER BY i.org_id, i.jti, i.n
  LOOP
    r_ord := item.n;
    INSERT INTO revoked_access_tokens (org_id, jti, expires_at, revoked_at)
      VALUES (item.org_id, item.jti, tessera_ts(item.expires_us), tessera_ts(item.now_us))
      ON CONFLICT DO NOTHING;
    r_revoked := FOUND;
    IF r_revoked THEN
      PERFORM pg_notify(p_channel, item.change);
      INSERT INTO audit_events (org_id, occurred_at, actor_id, action, target_type, target_id,
                                peer, request_id, details)
        VALUES (item.org_id, tessera_ts(item.now_us), item.actor_id, 'token.revoked',
                'access_token', item.jti, item.peer, item.request_id, '{}');
    END IF;
    RETURN NEXT;
  END LOOP;
END
$$;
