-- user_upsert 1.0: tables, shipped blocked identities, user_upsert().

\echo Use "CREATE EXTENSION user_upsert" to load this file. \quit

-- The schema is created here, not named in the control file, so that it is a
-- member of the extension (DROP EXTENSION removes it) and so that a schema a
-- hostile role planted beforehand makes CREATE EXTENSION fail instead of
-- being adopted with whatever it holds.
CREATE SCHEMA user_upsert;
REVOKE ALL ON SCHEMA user_upsert FROM PUBLIC;

CREATE TABLE user_upsert.users (
    id              uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    kind            text NOT NULL DEFAULT 'human'
                    CONSTRAINT users_kind_check CHECK (kind OPERATOR(pg_catalog.=) 'human'::text
                                                     OR kind OPERATOR(pg_catalog.=) 'agent'::text),
    fid             bigint UNIQUE CONSTRAINT users_fid_check CHECK (fid OPERATOR(pg_catalog.>) 0::bigint),
    primary_address text UNIQUE,
    agent_id        text UNIQUE,
    email           text,
    username        text,
    display_name    text,
    avatar_url      text,
    attrs           jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    observed_at     timestamptz,
    version         bigint NOT NULL DEFAULT 1,
    merged_into     uuid REFERENCES user_upsert.users (id) ON DELETE CASCADE,
    deleted_at      timestamptz
);
CREATE INDEX users_merged_into_idx ON user_upsert.users (merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE user_upsert.identities (
    kind       text COLLATE pg_catalog."C" NOT NULL
               CONSTRAINT identities_kind_check CHECK (kind OPERATOR(pg_catalog.=) 'fid'::text
                                                    OR kind OPERATOR(pg_catalog.=) 'wallet'::text
                                                    OR kind OPERATOR(pg_catalog.=) 'agent'::text
                                                    OR kind OPERATOR(pg_catalog.=) 'external'::text),
    value      text COLLATE pg_catalog."C" NOT NULL,
    user_id    uuid NOT NULL REFERENCES user_upsert.users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (kind, value)
);
-- kind and value included: a user's identities are read from the index alone
-- while the table's pages are all-visible (src/pg/direct.cpp).
CREATE INDEX identities_user_id_idx ON user_upsert.identities (user_id) INCLUDE (kind, value);

CREATE TABLE user_upsert.merges (
    survivor_id uuid NOT NULL,
    merged_id   uuid NOT NULL,
    moved       jsonb NOT NULL DEFAULT '[]'::jsonb,
    snapshot    jsonb NOT NULL,
    payload     jsonb,
    merged_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX merges_survivor_id_idx ON user_upsert.merges (survivor_id);
CREATE INDEX merges_merged_id_idx ON user_upsert.merges (merged_id);

CREATE TABLE user_upsert.blocked_identities (
    kind   text COLLATE pg_catalog."C" NOT NULL
           CONSTRAINT blocked_identities_kind_check CHECK (kind OPERATOR(pg_catalog.=) 'fid'::text
                                                        OR kind OPERATOR(pg_catalog.=) 'wallet'::text
                                                        OR kind OPERATOR(pg_catalog.=) 'agent'::text
                                                        OR kind OPERATOR(pg_catalog.=) 'external'::text),
    value  text COLLATE pg_catalog."C" NOT NULL,
    reason text NOT NULL DEFAULT 'blocked',
    PRIMARY KEY (kind, value)
);
-- Backends keep the blocked list in memory (src/pg/direct.cpp); any write to
-- it drops every copy.
CREATE FUNCTION user_upsert.blocked_identities_changed()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'user_upsert_blocked_identities_changed_1_0';
CREATE TRIGGER blocked_identities_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON user_upsert.blocked_identities
    FOR EACH STATEMENT EXECUTE FUNCTION user_upsert.blocked_identities_changed();
-- Identities are matched normalized: a block is stored normalized, or refused (22023).
CREATE FUNCTION user_upsert.blocked_identities_trigger()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'user_upsert_blocked_identities_trigger_1_0';
CREATE TRIGGER blocked_identities_normalize
    BEFORE INSERT OR UPDATE ON user_upsert.blocked_identities
    FOR EACH ROW EXECUTE FUNCTION user_upsert.blocked_identities_trigger();

INSERT INTO user_upsert.blocked_identities (kind, value, reason) VALUES
    ('wallet', '0x0000000000000000000000000000000000000000', 'the EVM zero address'),
    ('wallet', '0x000000000000000000000000000000000000dead', 'the EVM burn address');

-- Dump every row of the extension's tables; the shipped blocked identities are
-- recreated by CREATE EXTENSION on restore, so they are left out of the dump.
SELECT pg_catalog.pg_extension_config_dump('user_upsert.users', '');
SELECT pg_catalog.pg_extension_config_dump('user_upsert.identities', '');
SELECT pg_catalog.pg_extension_config_dump('user_upsert.merges', '');
SELECT pg_catalog.pg_extension_config_dump('user_upsert.blocked_identities',
    $$WHERE NOT (kind OPERATOR(pg_catalog.=) 'wallet' AND value OPERATOR(pg_catalog.=) ANY ('{0x0000000000000000000000000000000000000000,0x000000000000000000000000000000000000dead}'::text[]))$$);

-- No SET search_path (STYLE 8's exception for a hot function, as
-- user_ensure() below): a call's reads, updates and inserts resolve no name
-- (relations, indexes and columns by OID, expressions stored parsed), and the
-- SQL statements it still runs (merges, and writes to tables an application
-- gave columns the statement must fill) are fully qualified, so the caller's
-- search_path cannot change what they mean (sql/search_path_attack.sql).
-- The application's own triggers and constraint functions run under the
-- caller's search_path, as they do for the caller's own INSERT or UPDATE.
CREATE FUNCTION user_upsert.user_upsert(payload jsonb)
RETURNS jsonb
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'user_upsert_user_upsert_1_0';

COMMENT ON FUNCTION user_upsert.user_upsert(jsonb) IS
    'Creates, updates or merges a user by any of its identities, atomically; see DESIGN.md section 4';

CREATE FUNCTION user_upsert.user_lookup(kind text, value text)
RETURNS jsonb
LANGUAGE C STRICT STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_upsert_user_lookup_1_0';

COMMENT ON FUNCTION user_upsert.user_lookup(text, text) IS
    'The user document of the live user owning an identity (kinds id, fid, wallet, agent, external), following merges; NULL when absent';

-- One row per broken invariant, in the spirit of amcheck; empty when healthy.
CREATE FUNCTION user_upsert.user_verify()
RETURNS TABLE (problem text, user_id uuid, detail text)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT 'identity_owner_not_live'::text, i.user_id,
           pg_catalog.format('identity (%s, %s) belongs to a %s user', i.kind, i.value,
                             CASE WHEN u.merged_into IS NOT NULL THEN 'merged' ELSE 'deleted' END)
      FROM user_upsert.identities i JOIN user_upsert.users u ON u.id OPERATOR(pg_catalog.=) i.user_id
     WHERE u.merged_into IS NOT NULL
        OR (u.deleted_at IS NOT NULL AND i.kind OPERATOR(pg_catalog.<>) 'external'::text)
    UNION ALL
    SELECT 'fid_mirror_mismatch'::text, u.id,
           pg_catalog.format('users.fid is %s but the fid identities of the user are %s',
                             COALESCE(u.fid::text, 'null'), COALESCE(f.vals, 'none'))
      FROM user_upsert.users u
      LEFT JOIN LATERAL (SELECT pg_catalog.string_agg(i.value, ', ' ORDER BY i.value) AS vals,
                                pg_catalog.count(*) AS n
                           FROM user_upsert.identities i
                          WHERE i.user_id OPERATOR(pg_catalog.=) u.id AND i.kind OPERATOR(pg_catalog.=) 'fid'::text) f ON true
     WHERE u.merged_into IS NULL
       AND (f.n OPERATOR(pg_catalog.>) 1 OR u.fid::text IS DISTINCT FROM f.vals)
    UNION ALL
    SELECT 'agent_mirror_mismatch'::text, u.id,
           pg_catalog.format('users.agent_id is %s but the agent identities of the user are %s',
                             COALESCE(u.agent_id, 'null'), COALESCE(a.vals, 'none'))
      FROM user_upsert.users u
      LEFT JOIN LATERAL (SELECT pg_catalog.string_agg(i.value, ', ' ORDER BY i.value) AS vals,
                                pg_catalog.count(*) AS n
                           FROM user_upsert.identities i
                          WHERE i.user_id OPERATOR(pg_catalog.=) u.id AND i.kind OPERATOR(pg_catalog.=) 'agent'::text) a ON true
     WHERE u.merged_into IS NULL
       AND (a.n OPERATOR(pg_catalog.>) 1 OR u.agent_id IS DISTINCT FROM a.vals)
    UNION ALL
    SELECT 'primary_address_not_a_wallet'::text, u.id,
           pg_catalog.format('primary_address %s is not a wallet identity of the user', u.primary_address)
      FROM user_upsert.users u
     WHERE u.primary_address IS NOT NULL
       AND NOT EXISTS (SELECT FROM user_upsert.identities i
                        WHERE i.kind OPERATOR(pg_catalog.=) 'wallet'::text
                          AND i.value OPERATOR(pg_catalog.=) u.primary_address
                          AND i.user_id OPERATOR(pg_catalog.=) u.id)
    UNION ALL
    SELECT 'several_subjects_for_provider'::text, i.user_id,
           pg_catalog.format('provider %s has %s subjects on one user', pg_catalog.split_part(i.value, ':', 1),
                             pg_catalog.count(*))
      FROM user_upsert.identities i
     WHERE i.kind OPERATOR(pg_catalog.=) 'external'::text
     GROUP BY i.user_id, pg_catalog.split_part(i.value, ':', 1)
    HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1
    UNION ALL
    SELECT 'tombstone_has_mirrors'::text, u.id,
           'a merged user still has fid, primary_address or agent_id set'::text
      FROM user_upsert.users u
     WHERE u.merged_into IS NOT NULL
       AND (u.fid IS NOT NULL OR u.primary_address IS NOT NULL OR u.agent_id IS NOT NULL)
    UNION ALL
    SELECT 'merge_chain_cycle'::text, c.start, 'following merged_into from this user comes back to it'::text
      FROM (WITH RECURSIVE walk(start, cur, depth) AS (
                SELECT u.id, u.merged_into, 1 FROM user_upsert.users u WHERE u.merged_into IS NOT NULL
                UNION ALL
                SELECT w.start, n.merged_into, w.depth OPERATOR(pg_catalog.+) 1
                  FROM walk w JOIN user_upsert.users n ON n.id OPERATOR(pg_catalog.=) w.cur
                 WHERE n.merged_into IS NOT NULL AND w.cur OPERATOR(pg_catalog.<>) w.start
                   AND w.depth OPERATOR(pg_catalog.<) 10000)
            SELECT DISTINCT w.start FROM walk w WHERE w.cur OPERATOR(pg_catalog.=) w.start) c
    UNION ALL
    SELECT 'blocked_identity_owned'::text, i.user_id,
           pg_catalog.format('identity (%s, %s) is blocked: %s', i.kind, i.value, b.reason)
      FROM user_upsert.identities i
      JOIN user_upsert.blocked_identities b ON b.kind OPERATOR(pg_catalog.=) i.kind
                                           AND b.value OPERATOR(pg_catalog.=) i.value
    UNION ALL
    -- Only a load past the triggers writes these; the patterns accept every normalized value.
    SELECT 'identity_not_normalized'::text, i.user_id,
           pg_catalog.format('identity (%s, %s) is not in the normalized form of its kind', i.kind, i.value)
      FROM user_upsert.identities i
     WHERE NOT CASE
           WHEN i.kind OPERATOR(pg_catalog.=) 'fid'::text THEN
                i.value OPERATOR(pg_catalog.~) '^[1-9][0-9]{0,18}$'::text
                AND (pg_catalog.length(i.value) OPERATOR(pg_catalog.<) 19
                     OR i.value OPERATOR(pg_catalog.<=) '9223372036854775807'::text)
           WHEN i.kind OPERATOR(pg_catalog.=) 'wallet'::text THEN
                i.value OPERATOR(pg_catalog.~) '^(0x[0-9a-f]{40}|[1-9A-HJ-NP-Za-km-z]{32,44})$'::text
           WHEN i.kind OPERATOR(pg_catalog.=) 'agent'::text THEN
                i.value OPERATOR(pg_catalog.~) '^[A-Za-z0-9._:@/-]{1,128}$'::text
           WHEN i.kind OPERATOR(pg_catalog.=) 'external'::text THEN
                i.value OPERATOR(pg_catalog.~) '^[a-z0-9_-]{1,32}:[!-~]{1,255}$'::text
           ELSE false END
    UNION ALL
    SELECT 'too_many_wallets'::text, i.user_id,
           pg_catalog.format('%s wallets, user_upsert.max_wallets is %s', pg_catalog.count(*),
                             COALESCE(pg_catalog.current_setting('user_upsert.max_wallets', true), '50'))
      FROM user_upsert.identities i
     WHERE i.kind OPERATOR(pg_catalog.=) 'wallet'::text
     GROUP BY i.user_id
    HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>)
           COALESCE(pg_catalog.current_setting('user_upsert.max_wallets', true), '50')::pg_catalog.int4
    UNION ALL
    SELECT 'invalid_version'::text, u.id, pg_catalog.format('version is %s', u.version)
      FROM user_upsert.users u WHERE u.version OPERATOR(pg_catalog.<) 1;
END;

COMMENT ON FUNCTION user_upsert.user_verify() IS
    'One row per broken invariant of the users and identities tables; empty when healthy';

-- Administrative: only the extension owner and roles it grants may run it.
REVOKE ALL ON FUNCTION user_upsert.user_verify() FROM PUBLIC;

-- Direct SQL on the tables keeps the guarantees (DESIGN.md section 6).
-- The trigger functions fire for every row the extension writes itself and
-- then only stand aside, so, like user_ensure(), they declare no SET
-- search_path (its per-row cost is in bench/RESULTS.md); they pin it
-- themselves before running any SQL.
CREATE FUNCTION user_upsert.users_trigger()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'user_upsert_users_trigger_1_0';

CREATE FUNCTION user_upsert.identities_trigger()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'user_upsert_identities_trigger_1_0';

CREATE TRIGGER users_identities_before
    BEFORE INSERT OR UPDATE ON user_upsert.users
    FOR EACH ROW EXECUTE FUNCTION user_upsert.users_trigger();
-- Identities of a new row can only be inserted once the row exists.
CREATE TRIGGER users_identities_after_insert
    AFTER INSERT ON user_upsert.users
    FOR EACH ROW
    WHEN (NEW.fid IS NOT NULL OR NEW.primary_address IS NOT NULL OR NEW.agent_id IS NOT NULL)
    EXECUTE FUNCTION user_upsert.users_trigger();
-- Only a direct UPDATE whose merge (direct_conflict = merge) is pending keeps its version.
CREATE TRIGGER users_merge_after_update
    AFTER UPDATE ON user_upsert.users
    FOR EACH ROW
    WHEN (NEW.version OPERATOR(pg_catalog.=) OLD.version)
    EXECUTE FUNCTION user_upsert.users_trigger();
CREATE TRIGGER identities_mirror_before
    BEFORE INSERT OR UPDATE OR DELETE ON user_upsert.identities
    FOR EACH ROW EXECUTE FUNCTION user_upsert.identities_trigger();
-- TRUNCATE fires no row trigger: the mirrors are cleared once the table is empty.
CREATE FUNCTION user_upsert.identities_truncated()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'user_upsert_identities_truncated_1_0';
CREATE TRIGGER identities_truncated
    AFTER TRUNCATE ON user_upsert.identities
    FOR EACH STATEMENT EXECUTE FUNCTION user_upsert.identities_truncated();

-- For code that only knows INSERT: INSERT … RETURNING * through user_upsert().
CREATE VIEW user_upsert.users_upsert AS
    SELECT u.id, u.kind, u.fid, u.primary_address, u.agent_id, u.email, u.username, u.display_name,
           u.avatar_url, u.attrs, u.created_at, u.updated_at, u.observed_at, u.version, u.merged_into,
           u.deleted_at
      FROM user_upsert.users u;

CREATE FUNCTION user_upsert.users_upsert_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    payload jsonb := '{}'::jsonb;
    result jsonb;
BEGIN
    -- A NULL column is absent: the view has no defaults, so an omitted column arrives as NULL.
    IF NEW.id IS NOT NULL THEN payload := payload OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('id', NEW.id); END IF;
    IF NEW.fid IS NOT NULL THEN payload := payload OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('fid', NEW.fid); END IF;
    IF NEW.primary_address IS NOT NULL THEN payload := payload OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('primary_address', NEW.primary_address); END IF;
    IF NEW.agent_id IS NOT NULL THEN payload := payload OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('agent_id', NEW.agent_id); END IF;
    IF NEW.email IS NOT NULL THEN payload := payload OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('email', NEW.email); END IF;
    IF NEW.username IS NOT NULL THEN payload := payload OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('username', NEW.username); END IF;
    IF NEW.display_name IS NOT NULL THEN payload := payload OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('display_name', NEW.display_name); END IF;
    IF NEW.avatar_url IS NOT NULL THEN payload := payload OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('avatar_url', NEW.avatar_url); END IF;
    IF NEW.kind IS NOT NULL THEN payload := payload OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('kind', NEW.kind); END IF;
    IF NEW.attrs IS NOT NULL THEN payload := payload OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('attrs', NEW.attrs); END IF;
    IF NEW.observed_at IS NOT NULL THEN payload := payload OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('observed_at', NEW.observed_at); END IF;
    result := user_upsert.user_upsert(payload);
    SELECT u.id, u.kind, u.fid, u.primary_address, u.agent_id, u.email, u.username, u.display_name,
           u.avatar_url, u.attrs, u.created_at, u.updated_at, u.observed_at, u.version, u.merged_into,
           u.deleted_at
      INTO NEW
      FROM user_upsert.users u
     WHERE u.id OPERATOR(pg_catalog.=) ((result OPERATOR(pg_catalog.->) 'user') OPERATOR(pg_catalog.->>) 'id')::pg_catalog.uuid;
    RETURN NEW;
END
$$;

CREATE TRIGGER users_upsert_insert
    INSTEAD OF INSERT ON user_upsert.users_upsert
    FOR EACH ROW EXECUTE FUNCTION user_upsert.users_upsert_insert();

-- No SET search_path here either (STYLE 8: its per-call cost is measured in
-- bench/RESULTS.md): the hit path resolves no name at all (index probes by
-- OID), and the creating path is user_upsert()'s, above.
CREATE FUNCTION user_upsert.user_ensure(payload jsonb)
RETURNS jsonb
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'user_upsert_user_ensure_1_0';

COMMENT ON FUNCTION user_upsert.user_ensure(jsonb) IS
    'Get-or-create: user_upsert() with policy keep, without locks or writes when the user exists';

CREATE FUNCTION user_upsert.user_upsert_from(provider text, profile jsonb, policy text DEFAULT 'merge')
RETURNS jsonb
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_upsert_user_upsert_from_1_0';

COMMENT ON FUNCTION user_upsert.user_upsert_from(text, jsonb, text) IS
    'user_upsert() of a provider profile: clerk (Clerk User object) or farcaster (Neynar user)';

-- The webhook ledger: one row per applied event, written in the transaction of its effect.
CREATE TABLE user_upsert.events (
    event_id    text PRIMARY KEY,
    type        text NOT NULL,
    result      jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX events_received_at_idx ON user_upsert.events (received_at);
SELECT pg_catalog.pg_extension_config_dump('user_upsert.events', '');

CREATE FUNCTION user_upsert.user_apply_event(event jsonb, event_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_upsert_user_apply_event_1_0';

COMMENT ON FUNCTION user_upsert.user_apply_event(jsonb, text) IS
    'Applies a Clerk webhook event (user.created, user.updated, user.deleted) once per event_id';

-- Deletes at most max_rows ledger rows older than older_than, oldest first; returns how many.
CREATE FUNCTION user_upsert.events_cleanup(older_than interval DEFAULT '30 days', max_rows integer DEFAULT 10000)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    removed bigint;
    cutoff timestamptz;
BEGIN
    -- NULL would mean "no limit" to LIMIT; a negative interval reaches rows recorded after now().
    IF older_than IS NULL OR older_than OPERATOR(pg_catalog.<) '0'::interval THEN
        RAISE EXCEPTION 'invalid "older_than"' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = '"older_than" must be an interval of zero or more.';
    END IF;
    IF max_rows IS NULL OR max_rows OPERATOR(pg_catalog.<) 0 THEN
        RAISE EXCEPTION 'invalid "max_rows"' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = '"max_rows" must be zero or more: it bounds the rows one call deletes.';
    END IF;
    BEGIN
        cutoff := pg_catalog.now() OPERATOR(pg_catalog.-) older_than;
    EXCEPTION WHEN datetime_field_overflow THEN
        RETURN 0;  -- before the first representable timestamp: no row is that old
    END;
    WITH old AS (
        SELECT e.event_id FROM user_upsert.events e
         WHERE e.received_at OPERATOR(pg_catalog.<) cutoff
         ORDER BY e.received_at
         LIMIT max_rows
           FOR UPDATE SKIP LOCKED),
    gone AS (
        DELETE FROM user_upsert.events e USING old WHERE e.event_id OPERATOR(pg_catalog.=) old.event_id
        RETURNING 1)
    SELECT pg_catalog.count(*) INTO removed FROM gone;
    RETURN removed;
END
$$;
REVOKE ALL ON FUNCTION user_upsert.events_cleanup(interval, integer) FROM PUBLIC;

CREATE FUNCTION user_upsert.user_upsert_many(payloads jsonb)
RETURNS SETOF jsonb
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_upsert_user_upsert_many_1_0';

COMMENT ON FUNCTION user_upsert.user_upsert_many(jsonb) IS
    'One user_upsert() per array element, in order, each result with its "ordinal" (1-based); a bad element yields {"ordinal", "error"} and the others apply';
