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
    kind       text NOT NULL
               CONSTRAINT identities_kind_check CHECK (kind OPERATOR(pg_catalog.=) 'fid'::text
                                                    OR kind OPERATOR(pg_catalog.=) 'wallet'::text
                                                    OR kind OPERATOR(pg_catalog.=) 'agent'::text
                                                    OR kind OPERATOR(pg_catalog.=) 'external'::text),
    value      text NOT NULL,
    user_id    uuid NOT NULL REFERENCES user_upsert.users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (kind, value)
);
CREATE INDEX identities_user_id_idx ON user_upsert.identities (user_id);

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
    kind   text NOT NULL
           CONSTRAINT blocked_identities_kind_check CHECK (kind OPERATOR(pg_catalog.=) 'fid'::text
                                                        OR kind OPERATOR(pg_catalog.=) 'wallet'::text
                                                        OR kind OPERATOR(pg_catalog.=) 'agent'::text
                                                        OR kind OPERATOR(pg_catalog.=) 'external'::text),
    value  text NOT NULL,
    reason text NOT NULL DEFAULT 'blocked',
    PRIMARY KEY (kind, value)
);
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

CREATE FUNCTION user_upsert.user_upsert(payload jsonb)
RETURNS jsonb
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_upsert_user_upsert_1_0';

COMMENT ON FUNCTION user_upsert.user_upsert(jsonb) IS
    'Creates, updates or merges a user by any of its identities, atomically; see DESIGN.md section 4';
