-- DROP EXTENSION user_upsert CASCADE removes schema user_upsert and every
-- object in it (DESIGN.md section 1), and CREATE EXTENSION then works
-- again, even in a session whose saved plans name the dropped tables.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_upsert CASCADE;
CREATE EXTENSION user_upsert;
RESET client_min_messages;

-- Use the extension first, so this session holds saved plans.
SELECT r->>'action' AS action FROM user_upsert.user_upsert('{"fid": 1, "wallets": ["0x52908400098527886E0F7030069857D2E4169EE7"]}') AS r;
SELECT r->>'action' AS action FROM user_upsert.user_upsert('{"fid": 1, "username": "one"}') AS r;
INSERT INTO user_upsert.blocked_identities (kind, value, reason) VALUES ('fid', '666', 'added by a user');

SELECT oid AS ext_oid FROM pg_extension WHERE extname = 'user_upsert' \gset
SELECT oid AS nsp_oid FROM pg_namespace WHERE nspname = 'user_upsert' \gset
-- what the extension owns, and what lives in its schema
SELECT count(*) FILTER (WHERE classid = 'pg_namespace'::regclass) AS member_schemas,
       count(*) FILTER (WHERE classid = 'pg_class'::regclass AND objid = 'user_upsert.users'::regclass) AS users_is_member,
       count(*) FILTER (WHERE classid = 'pg_proc'::regclass
                          AND objid = 'user_upsert.user_upsert(jsonb)'::regprocedure) AS user_upsert_is_member
  FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND refobjid = :ext_oid AND deptype = 'e';
SELECT count(*) >= 4 AS has_tables FROM pg_class WHERE relnamespace = :nsp_oid AND relkind = 'r';

-- Objects of the application that depend on the extension: a plain DROP
-- refuses, CASCADE takes them along.
CREATE VIEW public.uu_app_view AS SELECT id, fid FROM user_upsert.users;
CREATE TABLE user_upsert.app_notes (user_id uuid REFERENCES user_upsert.users (id), note text);
DROP EXTENSION user_upsert;
DROP EXTENSION user_upsert CASCADE;

-- Nothing is left: no extension, no schema, no object in it, no dependency.
SELECT count(*) AS extensions FROM pg_extension WHERE extname = 'user_upsert';
SELECT count(*) AS schemas FROM pg_namespace WHERE nspname = 'user_upsert' OR oid = :nsp_oid;
SELECT count(*) AS relations FROM pg_class WHERE relnamespace = :nsp_oid;
SELECT count(*) AS functions FROM pg_proc WHERE pronamespace = :nsp_oid OR proname = 'user_upsert';
SELECT count(*) AS types FROM pg_type WHERE typnamespace = :nsp_oid;
SELECT count(*) AS dependencies FROM pg_depend
 WHERE (refclassid = 'pg_extension'::regclass AND refobjid = :ext_oid)
    OR (refclassid = 'pg_namespace'::regclass AND refobjid = :nsp_oid);
SELECT to_regclass('user_upsert.users') AS users, to_regclass('public.uu_app_view') AS app_view,
       to_regprocedure('user_upsert.user_upsert(jsonb)') AS user_upsert;

-- CREATE EXTENSION works again: empty tables, the shipped blocked
-- identities only, and user_upsert() works in this same session.
CREATE EXTENSION user_upsert;
SELECT (SELECT count(*) FROM user_upsert.users) AS users, (SELECT count(*) FROM user_upsert.identities) AS identities,
       (SELECT count(*) FROM user_upsert.merges) AS merges;
SELECT kind, value, reason FROM user_upsert.blocked_identities ORDER BY value;
SELECT r->>'action' AS action, r->'user'->'version' AS version, r->'user'->'wallets' AS wallets
  FROM user_upsert.user_upsert('{"fid": 1, "wallets": ["0x52908400098527886E0F7030069857D2E4169EE7"]}') AS r;
SELECT r->>'action' AS action, r->'user'->'version' AS version, r->'user'->>'username' AS username
  FROM user_upsert.user_upsert('{"wallets": ["0x52908400098527886e0f7030069857d2e4169ee7"], "username": "one"}') AS r;
SELECT r->>'action' AS action FROM user_upsert.user_upsert('{"fid": 1, "policy": "keep"}') AS r;
SELECT user_upsert.user_upsert('{"fid": 666}')->>'action' AS no_longer_blocked;
SELECT user_upsert.user_upsert('{"wallets": ["0x0000000000000000000000000000000000000000"]}');
SELECT fid, username, version FROM user_upsert.users ORDER BY fid;

DROP EXTENSION user_upsert CASCADE;
SELECT count(*) AS schemas FROM pg_namespace WHERE nspname = 'user_upsert';
