-- Stress run setup: pools of identities and the wrappers every pgbench script
-- calls. Run by test/stress/run.sh after CREATE EXTENSION user_upsert.
--
-- The pools are small and overlapping on purpose (fids 1..50, 60 wallets,
-- 30 agents, 30 Clerk subjects, 20 explicit ids), so that concurrent calls
-- keep meeting on the same identities and users.

CREATE SCHEMA stress;

-- Every call, as the wrapper saw it commit. Unlogged: only this run reads it.
CREATE UNLOGGED TABLE stress.calls (
    seq      bigserial PRIMARY KEY,
    script   text NOT NULL,
    payload  jsonb NOT NULL,
    sqlstate text NOT NULL,          -- '00000' on success
    message  text,
    action   text,
    user_id  uuid,
    version  bigint,
    doc      jsonb                   -- the returned user document
);

-- Wallet n of the pool: a valid lowercase EVM address ('0x' + 40 hex digits).
-- spelling 1 gives the all-uppercase digits, 2 surrounding blanks: both
-- normalize to the same identity (DESIGN 3), so they must share its lock.
CREATE FUNCTION stress.w(n int, spelling int DEFAULT 0) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE spelling
             WHEN 1 THEN '0x' || upper(lpad(to_hex(n * 2654435761 % 4294967291), 40, '0'))
             WHEN 2 THEN '  0x' || lpad(to_hex(n * 2654435761 % 4294967291), 40, '0') || ' '
             ELSE '0x' || lpad(to_hex(n * 2654435761 % 4294967291), 40, '0')
           END
$$;

CREATE FUNCTION stress.policy(n int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT (ARRAY['merge', 'fill', 'keep'])[n] $$;

CREATE FUNCTION stress.id(n int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT '00000000-0000-4000-8000-' || lpad(n::text, 12, '0') $$;

-- One call's outcome in stress.calls: a result document, or a caught error.
CREATE FUNCTION stress.log_result(script text, payload jsonb, r jsonb) RETURNS text
LANGUAGE sql AS $$
    INSERT INTO stress.calls (script, payload, sqlstate, action, user_id, version, doc)
    VALUES (script, payload, '00000', r->>'action', (r->'user'->>'id')::uuid, (r->'user'->>'version')::bigint,
            r->'user')
    RETURNING action
$$;
CREATE FUNCTION stress.log_error(script text, payload jsonb, st text, msg text) RETURNS text
LANGUAGE sql AS $$
    INSERT INTO stress.calls (script, payload, sqlstate, message) VALUES (script, payload, st, msg) RETURNING sqlstate
$$;

-- Calls user_upsert(); records the outcome. The only errors caught are the
-- ones a payload deserves (`allowed`); anything else (23505, 40P01, XX000,
-- 22023 from a valid payload, ...) is raised again as it came, pgbench
-- reports it, and the run fails.
CREATE FUNCTION stress.try_allowing(script text, payload jsonb, allowed text[]) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text;
    msg text;
BEGIN
    RETURN stress.log_result(script, payload, user_upsert.user_upsert(payload));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    IF st <> ALL (allowed) THEN
        RAISE;
    END IF;
    RETURN stress.log_error(script, payload, st, msg);
END $$;

-- READ COMMITTED: UU001 (identity conflict) and UU002 (blocked identity).
CREATE FUNCTION stress.try(script text, payload jsonb) RETURNS text
LANGUAGE sql AS $$ SELECT stress.try_allowing(script, payload, ARRAY['UU001', 'UU002']) $$;

-- REPEATABLE READ / SERIALIZABLE: 40001 (serialization_failure) too (DESIGN 4.5).
CREATE FUNCTION stress.try_snapshot(script text, payload jsonb) RETURNS text
LANGUAGE sql AS $$ SELECT stress.try_allowing(script, payload, ARRAY['UU001', 'UU002', '40001']) $$;

-- user_upsert_many(): each element's outcome is recorded as one call of
-- `script`; an element's error object may only carry UU001 or UU002 (any other
-- SQLSTATE fails the run, like an uncaught error of stress.try).
CREATE FUNCTION stress.try_many(script text, payloads jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
    n bigint := 0;
BEGIN
    FOR r IN SELECT * FROM user_upsert.user_upsert_many(payloads) LOOP
        n := n + 1;
        IF (r->>'ordinal')::bigint IS DISTINCT FROM n THEN
            RAISE EXCEPTION 'user_upsert_many answered ordinal % at position %', r->>'ordinal', n;
        END IF;
        IF r ? 'error' THEN
            IF r->'error'->>'sqlstate' NOT IN ('UU001', 'UU002') THEN
                RAISE EXCEPTION 'user_upsert_many element %: % %', n, r->'error'->>'sqlstate', r->'error'->>'message';
            END IF;
            PERFORM stress.log_error(script, payloads->(n::int - 1), r->'error'->>'sqlstate', r->'error'->>'message');
        ELSE
            PERFORM stress.log_result(script, payloads->(n::int - 1), r);
        END IF;
    END LOOP;
    IF n <> jsonb_array_length(payloads) THEN
        RAISE EXCEPTION 'user_upsert_many answered % of % elements', n, jsonb_array_length(payloads);
    END IF;
    RETURN n;
END $$;

-- One payload drawn from the pools the other scripts use (fid, wallet,
-- register, agent, external shapes), for the batches of many.sql.
CREATE FUNCTION stress.random_payload() RETURNS jsonb
LANGUAGE sql VOLATILE AS $$
    SELECT CASE (random() * 4)::int
             WHEN 0 THEN jsonb_build_object('fid', 1 + (random() * 49)::int, 'display_name', 'batch ' || (random() * 1000)::int)
             WHEN 1 THEN jsonb_build_object('wallets', jsonb_build_array(stress.w(1 + (random() * 59)::int, (random() * 2)::int)),
                                            'username', 'batch' || (random() * 1000)::int)
             WHEN 2 THEN jsonb_build_object('fid', f, 'wallets', jsonb_build_array(stress.w((f + (random() * 9)::int) % 60 + 1)))
             WHEN 3 THEN jsonb_build_object('agent_id', 'agent-' || (1 + (random() * 29)::int), 'attrs', jsonb_build_object('b', (random() * 9)::int))
             ELSE jsonb_build_object('external', jsonb_build_object('clerk', 'user_' || (1 + (random() * 29)::int)),
                                     'policy', (ARRAY['merge', 'fill', 'keep'])[1 + (random() * 2)::int])
           END
      FROM (SELECT 1 + (random() * 49)::int AS f) AS pick
$$;

-- Direct SQL on the tables (DESIGN 6), for STRESS_DIRECT=1 runs. The
-- triggers must keep every guarantee; the errors a write deserves are UU001
-- and UU002 as for user_upsert(). Users touched by direct writes are logged
-- with action 'direct' (their versions are not all returned, so the
-- version-count checks skip them).

-- Links identity (kind, value) to the owner of wallet `via` with a plain INSERT.
CREATE FUNCTION stress.direct_link(script text, kind text, value text, via text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    owner uuid;
    st text;
    msg text;
    payload jsonb := jsonb_build_object('direct', 'link', 'kind', kind, 'value', value, 'via', via);
BEGIN
    BEGIN
        INSERT INTO user_upsert.identities (kind, value, user_id)
        SELECT direct_link.kind, direct_link.value, i.user_id
          FROM user_upsert.identities i WHERE i.kind = 'wallet' AND i.value = via;
    EXCEPTION WHEN SQLSTATE 'UU001' OR SQLSTATE 'UU002' THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        PERFORM stress.log_error(script, payload, st, msg);
        RETURN st;
    END;
    SELECT i.user_id INTO owner FROM user_upsert.identities i WHERE i.kind = direct_link.kind AND i.value = direct_link.value;
    INSERT INTO stress.calls (script, payload, sqlstate, action, user_id)
    VALUES (script, payload, '00000', 'direct', owner);
    RETURN 'direct';
END $$;

-- Sets display_name, and with agent > 0 also agent_id, of the user with fid
-- `fid` with a plain UPDATE; logs the version the UPDATE returns.
CREATE FUNCTION stress.direct_update(script text, fid bigint, name text, agent int) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    st text;
    msg text;
    payload jsonb := jsonb_build_object('direct', 'update', 'fid', fid, 'display_name', name, 'agent', agent);
BEGIN
    BEGIN
        UPDATE user_upsert.users u
           SET display_name = name,
               agent_id = CASE WHEN agent > 0 THEN 'agent-' || agent ELSE u.agent_id END
         WHERE u.fid = direct_update.fid
        RETURNING u.id, u.version INTO r;
    EXCEPTION WHEN SQLSTATE 'UU001' OR SQLSTATE 'UU002' THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        PERFORM stress.log_error(script, payload, st, msg);
        RETURN st;
    END;
    IF r.id IS NOT NULL THEN
        INSERT INTO stress.calls (script, payload, sqlstate, action, user_id, version)
        VALUES (script, payload, '00000', 'direct', r.id, r.version);
    END IF;
    RETURN 'direct';
END $$;
