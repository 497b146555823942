-- bench_plpgsql: the part of user_upsert()'s contract the benchmark exercises,
-- written in PL/pgSQL the way a competent application developer would write
-- it, to measure what the C++ extension buys over doing it by hand.
--
-- Same table shapes as user_upsert.users / identities / merges. Contract subset:
--   payload keys fid, wallets, username, display_name, attrs, policy (only
--   "merge"); unknown key, wrong type or invalid value -> 22023;
--   fid: JSON integer or digit string, > 0; wallets: EVM "0x" + 40 hex digits
--   (lowercased; a mixed-case address is lowercased WITHOUT the EIP-55
--   checksum check: PostgreSQL has no Keccak-256) or a base58 Solana address
--   (shape only: not decoded); blocked wallets -> UU002;
--   text fields: value sets, null clears (policy merge); attrs: a shallow
--   RFC 7386 patch (top-level keys; null deletes a key; nested objects are
--   replaced, not patched);
--   locking: pg_advisory_xact_lock per identity in ascending key order, then
--   the identity lookup, then SELECT ... FOR UPDATE of the owners in uuid
--   order, looking again when an owner was merged while we waited;
--   none -> inserted; one -> updated, or unchanged with no write; several ->
--   a simple merge into the oldest user (identities moved, null fields
--   filled from the losers oldest first, attrs combined with the survivor's
--   keys winning, loser tombstoned, audit row), refused with UU001 when the
--   users hold different fids or more than 3 users would be joined; then the
--   payload is applied to the survivor -> merged.
-- Not covered: id, primary_address, agent_id, external, email, avatar_url,
-- kind, observed_at, policies fill / keep, user_upsert.* settings.

CREATE SCHEMA bench_plpgsql;

CREATE TABLE bench_plpgsql.users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind            text NOT NULL DEFAULT 'human' CHECK (kind IN ('human', 'agent')),
    fid             bigint UNIQUE CHECK (fid > 0),
    primary_address text UNIQUE,
    agent_id        text UNIQUE,
    email           text,
    username        text,
    display_name    text,
    avatar_url      text,
    attrs           jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    observed_at     timestamptz,
    version         bigint NOT NULL DEFAULT 1,
    merged_into     uuid REFERENCES bench_plpgsql.users (id) ON DELETE CASCADE,
    deleted_at      timestamptz
);
CREATE INDEX ON bench_plpgsql.users (merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE bench_plpgsql.identities (
    kind       text NOT NULL CHECK (kind IN ('fid', 'wallet', 'agent', 'external')),
    value      text NOT NULL,
    user_id    uuid NOT NULL REFERENCES bench_plpgsql.users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, value)
);
CREATE INDEX ON bench_plpgsql.identities (user_id);

CREATE TABLE bench_plpgsql.merges (
    survivor_id uuid NOT NULL,
    merged_id   uuid NOT NULL,
    moved       jsonb NOT NULL DEFAULT '[]',
    snapshot    jsonb NOT NULL,
    payload     jsonb,
    merged_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON bench_plpgsql.merges (survivor_id);
CREATE INDEX ON bench_plpgsql.merges (merged_id);

CREATE TABLE bench_plpgsql.blocked_identities (
    kind   text NOT NULL,
    value  text NOT NULL,
    reason text NOT NULL DEFAULT 'blocked',
    PRIMARY KEY (kind, value)
);
INSERT INTO bench_plpgsql.blocked_identities VALUES
    ('wallet', '0x0000000000000000000000000000000000000000', 'the EVM zero address'),
    ('wallet', '0x000000000000000000000000000000000000dead', 'the EVM burn address');

-- The user document: the row plus its wallets (byte order) and external ids.
CREATE FUNCTION bench_plpgsql.user_document(u bench_plpgsql.users) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT to_jsonb(u) || jsonb_build_object(
        'wallets', COALESCE((SELECT jsonb_agg(i.value ORDER BY i.value COLLATE "C")
                               FROM bench_plpgsql.identities i
                              WHERE i.user_id = u.id AND i.kind = 'wallet'), '[]'),
        'external', COALESCE((SELECT jsonb_object_agg(split_part(i.value, ':', 1),
                                                      substr(i.value, strpos(i.value, ':') + 1))
                                FROM bench_plpgsql.identities i
                               WHERE i.user_id = u.id AND i.kind = 'external'), '{}'))
$$;

CREATE FUNCTION bench_plpgsql.invalid(field text, message text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%: %', field, message USING ERRCODE = '22023';
END $$;

CREATE FUNCTION bench_plpgsql.user_upsert(payload jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    key          text;
    elem         jsonb;
    w            text;
    v_fid        bigint;
    v_wallets    text[] := '{}';
    has_username boolean := payload ? 'username';
    has_display  boolean := payload ? 'display_name';
    has_attrs    boolean := payload ? 'attrs';
    v_username   text;
    v_display    text;
    v_attrs      jsonb;
    kinds        text[] := '{}';
    vals         text[] := '{}';
    lock_key     bigint;
    blocked      text;
    owners       uuid[];
    stale        boolean;
    u            bench_plpgsql.users;
    n            bench_plpgsql.users;
    loser        bench_plpgsql.users;
    action       text;
    merged_ids   jsonb := '[]';
    missing_k    text[];
    missing_v    text[];
BEGIN
    -- 1. Validate and normalize the payload.
    IF jsonb_typeof(payload) IS DISTINCT FROM 'object' THEN
        PERFORM bench_plpgsql.invalid('payload', 'must be a JSON object');
    END IF;
    FOR key IN SELECT jsonb_object_keys(payload) LOOP
        IF key NOT IN ('fid', 'wallets', 'username', 'display_name', 'attrs', 'policy') THEN
            PERFORM bench_plpgsql.invalid(key, 'unknown key');
        END IF;
    END LOOP;
    IF COALESCE(payload->>'policy', 'merge') <> 'merge' THEN
        PERFORM bench_plpgsql.invalid('policy', 'only "merge" is implemented');
    END IF;

    elem := payload->'fid';
    IF elem IS NOT NULL AND jsonb_typeof(elem) <> 'null' THEN
        IF jsonb_typeof(elem) = 'number' AND elem::text ~ '^[0-9]{1,19}$' THEN
            v_fid := elem::text::numeric;
        ELSIF jsonb_typeof(elem) = 'string' AND btrim(elem #>> '{}') ~ '^[1-9][0-9]{0,18}$' THEN
            v_fid := btrim(elem #>> '{}')::numeric;
        ELSE
            PERFORM bench_plpgsql.invalid('fid', 'must be a positive integer');
        END IF;
        IF v_fid <= 0 THEN
            PERFORM bench_plpgsql.invalid('fid', 'must be a positive integer');
        END IF;
    END IF;

    elem := payload->'wallets';
    IF elem IS NOT NULL AND jsonb_typeof(elem) <> 'null' THEN
        IF jsonb_typeof(elem) <> 'array' THEN
            PERFORM bench_plpgsql.invalid('wallets', 'must be an array');
        END IF;
        FOR elem IN SELECT jsonb_array_elements(payload->'wallets') LOOP
            IF jsonb_typeof(elem) <> 'string' THEN
                PERFORM bench_plpgsql.invalid('wallets', 'must hold strings');
            END IF;
            w := btrim(elem #>> '{}');
            IF w ~ '^0x[0-9a-fA-F]{40}$' THEN
                w := lower(w);
            ELSIF w !~ '^[1-9A-HJ-NP-Za-km-z]{32,44}$' THEN
                PERFORM bench_plpgsql.invalid('wallets', 'invalid wallet address ' || w);
            END IF;
            IF NOT w = ANY (v_wallets) THEN
                v_wallets := v_wallets || w;
            END IF;
        END LOOP;
        IF cardinality(v_wallets) > 50 THEN
            PERFORM bench_plpgsql.invalid('wallets', 'more than 50 wallets');
        END IF;
    END IF;

    IF has_username THEN
        IF jsonb_typeof(payload->'username') NOT IN ('string', 'null') THEN
            PERFORM bench_plpgsql.invalid('username', 'must be a string or null');
        END IF;
        v_username := payload->>'username';
    END IF;
    IF has_display THEN
        IF jsonb_typeof(payload->'display_name') NOT IN ('string', 'null') THEN
            PERFORM bench_plpgsql.invalid('display_name', 'must be a string or null');
        END IF;
        v_display := payload->>'display_name';
    END IF;
    IF has_attrs THEN
        IF jsonb_typeof(payload->'attrs') NOT IN ('object', 'null') THEN
            PERFORM bench_plpgsql.invalid('attrs', 'must be an object or null');
        END IF;
        v_attrs := payload->'attrs';
    END IF;

    IF v_fid IS NOT NULL THEN
        kinds := kinds || 'fid'::text;
        vals := vals || v_fid::text;
    END IF;
    FOREACH w IN ARRAY v_wallets LOOP
        kinds := kinds || 'wallet'::text;
        vals := vals || w;
    END LOOP;
    IF cardinality(kinds) = 0 THEN
        PERFORM bench_plpgsql.invalid('payload', 'no identity (fid or wallets)');
    END IF;

    SELECT b.kind || ' ' || b.value || ': ' || b.reason INTO blocked
      FROM bench_plpgsql.blocked_identities b JOIN unnest(kinds, vals) AS p(kind, value) USING (kind, value)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'blocked identity %', blocked USING ERRCODE = 'UU002';
    END IF;

    -- 2. Identity locks, in ascending key order so two calls cannot deadlock.
    FOR lock_key IN
        SELECT DISTINCT hashtextextended(p.kind || ':' || p.value, 0)
          FROM unnest(kinds, vals) AS p(kind, value) ORDER BY 1
    LOOP
        PERFORM pg_advisory_xact_lock(lock_key);
    END LOOP;

    -- 3. Owners, locked in uuid order; look again if one was merged meanwhile.
    LOOP
        SELECT array_agg(DISTINCT i.user_id ORDER BY i.user_id) INTO owners
          FROM bench_plpgsql.identities i JOIN unnest(kinds, vals) AS p(kind, value) USING (kind, value);
        SELECT bool_or(l.merged_into IS NOT NULL) INTO stale
          FROM (SELECT x.merged_into FROM bench_plpgsql.users x
                 WHERE x.id = ANY (owners) ORDER BY x.id FOR UPDATE) l;
        EXIT WHEN NOT COALESCE(stale, false);
    END LOOP;

    SELECT array_agg(p.kind), array_agg(p.value) INTO missing_k, missing_v
      FROM unnest(kinds, vals) AS p(kind, value)
     WHERE NOT EXISTS (SELECT FROM bench_plpgsql.identities i WHERE i.kind = p.kind AND i.value = p.value);

    -- 4. None: insert.
    IF owners IS NULL THEN
        INSERT INTO bench_plpgsql.users (fid, primary_address, username, display_name, attrs)
        VALUES (v_fid, v_wallets[1], v_username, v_display,
                COALESCE(jsonb_strip_nulls(v_attrs), '{}'))
        RETURNING * INTO u;
        INSERT INTO bench_plpgsql.identities (kind, value, user_id)
        SELECT p.kind, p.value, u.id FROM unnest(kinds, vals) AS p(kind, value);
        RETURN jsonb_build_object('action', 'inserted', 'user', bench_plpgsql.user_document(u));
    END IF;

    IF cardinality(owners) > 3 THEN
        RAISE EXCEPTION 'payload would merge % users', cardinality(owners) USING ERRCODE = 'UU001';
    END IF;
    IF (SELECT count(DISTINCT x.fid) FROM bench_plpgsql.users x WHERE x.id = ANY (owners)) > 1 THEN
        RAISE EXCEPTION 'users % hold different fids', owners USING ERRCODE = 'UU001';
    END IF;

    -- 5. Several: merge into the oldest.
    SELECT * INTO u FROM bench_plpgsql.users x WHERE x.id = ANY (owners) ORDER BY x.created_at, x.id LIMIT 1;
    action := CASE WHEN cardinality(owners) > 1 THEN 'merged' ELSE NULL END;
    FOR loser IN
        SELECT * FROM bench_plpgsql.users x WHERE x.id = ANY (owners) AND x.id <> u.id ORDER BY x.created_at, x.id
    LOOP
        INSERT INTO bench_plpgsql.merges (survivor_id, merged_id, moved, snapshot, payload)
        VALUES (u.id, loser.id,
                COALESCE((SELECT jsonb_agg(jsonb_build_object('kind', i.kind, 'value', i.value))
                            FROM bench_plpgsql.identities i WHERE i.user_id = loser.id), '[]'),
                bench_plpgsql.user_document(loser), payload);
        UPDATE bench_plpgsql.users SET merged_into = u.id, fid = NULL, primary_address = NULL, agent_id = NULL,
               updated_at = now(), version = version + 1
         WHERE id = loser.id;
        UPDATE bench_plpgsql.identities SET user_id = u.id WHERE user_id = loser.id;
        u.fid := COALESCE(u.fid, loser.fid);
        u.primary_address := COALESCE(u.primary_address, loser.primary_address);
        u.agent_id := COALESCE(u.agent_id, loser.agent_id);
        u.email := COALESCE(u.email, loser.email);
        u.username := COALESCE(u.username, loser.username);
        u.display_name := COALESCE(u.display_name, loser.display_name);
        u.avatar_url := COALESCE(u.avatar_url, loser.avatar_url);
        u.attrs := loser.attrs || u.attrs;
        merged_ids := merged_ids || to_jsonb(loser.id);
    END LOOP;

    -- 6. Apply the payload (policy merge) and write only if something changed.
    IF u.fid IS NOT NULL AND v_fid IS NOT NULL AND u.fid <> v_fid THEN
        RAISE EXCEPTION 'user % already has fid %', u.id, u.fid USING ERRCODE = 'UU001';
    END IF;
    n := u;
    n.fid := COALESCE(u.fid, v_fid);
    n.primary_address := COALESCE(u.primary_address, v_wallets[1]);
    IF has_username THEN n.username := v_username; END IF;
    IF has_display THEN n.display_name := v_display; END IF;
    IF has_attrs THEN
        n.attrs := CASE WHEN v_attrs IS NULL THEN '{}'::jsonb
                        ELSE (n.attrs - ARRAY(SELECT e.key FROM jsonb_each(v_attrs) e WHERE e.value = 'null'))
                             || jsonb_strip_nulls(v_attrs) END;
    END IF;
    IF action IS NULL AND missing_k IS NULL
       AND (n.fid, n.primary_address, n.username, n.display_name, n.attrs)
           IS NOT DISTINCT FROM (u.fid, u.primary_address, u.username, u.display_name, u.attrs) THEN
        RETURN jsonb_build_object('action', 'unchanged', 'user', bench_plpgsql.user_document(u));
    END IF;
    UPDATE bench_plpgsql.users x
       SET fid = n.fid, primary_address = n.primary_address, agent_id = n.agent_id, email = n.email,
           username = n.username, display_name = n.display_name, avatar_url = n.avatar_url, attrs = n.attrs,
           updated_at = now(), version = x.version + 1
     WHERE x.id = u.id
    RETURNING * INTO n;
    IF missing_k IS NOT NULL THEN
        INSERT INTO bench_plpgsql.identities (kind, value, user_id)
        SELECT p.kind, p.value, n.id FROM unnest(missing_k, missing_v) AS p(kind, value);
    END IF;
    IF action = 'merged' THEN
        RETURN jsonb_build_object('action', 'merged', 'user', bench_plpgsql.user_document(n),
                                  'merged_ids', merged_ids);
    END IF;
    RETURN jsonb_build_object('action', 'updated', 'user', bench_plpgsql.user_document(n));
END $$;
