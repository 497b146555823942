-- user_ensure()'s hit path reads through the indexes without SQL (src/pg/direct.cpp):
-- its answers must be exactly user_upsert()'s with policy keep, whatever the
-- identity, and it must step aside to the locking path whenever that decides.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_upsert CASCADE;
RESET client_min_messages;
CREATE EXTENSION user_upsert;
CREATE FUNCTION pg_temp.try(p jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r jsonb; st text; msg text;
BEGIN
  r := user_upsert.user_ensure(p);
  RETURN r->>'action';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
  RETURN st || ': ' || msg;
END $$;
-- user_ensure(p) answers what user_upsert(p with policy keep) answers, and writes nothing.
CREATE FUNCTION pg_temp.same_as_keep(p jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE e jsonb; k jsonb; versions_before bigint; versions_after bigint;
BEGIN
  SELECT sum(version) INTO versions_before FROM user_upsert.users;
  e := user_upsert.user_ensure(p);
  SELECT sum(version) INTO versions_after FROM user_upsert.users;
  k := user_upsert.user_upsert(p || '{"policy": "keep"}');
  RETURN CASE WHEN e IS DISTINCT FROM k THEN 'differs: ' || e::text || ' vs ' || k::text
              WHEN versions_before IS DISTINCT FROM versions_after THEN 'wrote'
              ELSE e->>'action' END;
END $$;

SELECT user_upsert.user_upsert('{"fid": 7, "agent_id": "agent-7", "wallets": ["0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"],
  "external": {"clerk": "user_7", "github": "seven"}, "email": "Seven@Example.com", "username": "seven",
  "attrs": {"plan": "pro", "n": 1.50, "deep": {"a": [1, true, null, "x"]}}, "observed_at": "2026-01-02T03:04:05.123456Z"}')->>'action' AS created;
SELECT id AS seven FROM user_upsert.users WHERE fid = 7 \gset

-- each kind of identity: fid and agent by their mirror column, wallet and external by the identities table, id by key
SELECT pg_temp.same_as_keep('{"fid": 7}') AS by_fid,
       pg_temp.same_as_keep('{"agent_id": "agent-7"}') AS by_agent,
       pg_temp.same_as_keep('{"wallets": ["0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"]}') AS by_wallet,
       pg_temp.same_as_keep('{"external": {"github": "seven"}}') AS by_external,
       pg_temp.same_as_keep(jsonb_build_object('id', :'seven')) AS by_id,
       pg_temp.same_as_keep(jsonb_build_object('id', :'seven', 'fid', 7, 'external', '{"clerk": "user_7"}'::jsonb)) AS by_all;
-- fields the payload would add are kept out (policy keep), unknown identities are not linked
SELECT pg_temp.same_as_keep('{"fid": 7, "username": "other", "display_name": "New", "wallets": ["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}') AS with_more;
SELECT count(*) AS wallets_of_seven FROM user_upsert.identities WHERE user_id = :'seven' AND kind = 'wallet';
-- the document: numbers, nested attrs, timestamps spelled as to_jsonb() spells them
SELECT r->'user'->'attrs' AS attrs, r->'user'->'observed_at' AS observed_at,
       r->'user'->'wallets' AS wallets, r->'user'->'external' AS external
  FROM user_upsert.user_ensure('{"fid": 7}') r;
SELECT (user_upsert.user_ensure('{"fid": 7}')->'user') = user_upsert.user_lookup('fid', '7') AS same_as_lookup;
SELECT (user_upsert.user_lookup('fid', '7') - 'wallets'::text - 'external'::text) = to_jsonb(u) AS lookup_is_row
  FROM user_upsert.users u WHERE u.fid = 7;
-- once identities is all-visible, a user's identities come from identities_user_id_idx alone: same answer
VACUUM user_upsert.identities;
SELECT pg_temp.same_as_keep('{"fid": 7}') AS after_vacuum;
SELECT pg_stat_get_xact_tuples_fetched('user_upsert.identities'::regclass) AS fetched_before \gset
SELECT jsonb_array_length(user_upsert.user_ensure('{"fid": 7}')->'user'->'wallets') AS wallets_read;
-- (no heap row read, unless VACUUM could not mark every page all-visible)
SELECT relallvisible = relpages AS all_visible FROM pg_class WHERE oid = 'user_upsert.identities'::regclass \gset
SELECT pg_stat_get_xact_tuples_fetched('user_upsert.identities'::regclass) = :fetched_before OR NOT :'all_visible'::boolean
       AS read_from_index_alone;
-- under another TimeZone the timestamps follow it, as to_jsonb() does
SET TimeZone = 'Asia/Kolkata';
SELECT pg_temp.same_as_keep('{"fid": 7}') AS in_kolkata,
       user_upsert.user_ensure('{"fid": 7}')->'user'->>'observed_at' AS observed_at_kolkata;
RESET TimeZone;

-- observed_at and conflicts: skip go through plan_call (stale answers and skipped lists)
SELECT pg_temp.same_as_keep('{"fid": 7, "observed_at": "2020-01-01T00:00:00Z"}') AS older_observed_at,
       pg_temp.same_as_keep('{"fid": 7, "conflicts": "skip"}') AS skip_conflicts;
SELECT user_upsert.user_ensure('{"fid": 7, "conflicts": "skip"}')->'skipped' AS skipped;

-- a blocked identity is refused even when the user already owns it
INSERT INTO user_upsert.blocked_identities (kind, value, reason) VALUES ('external', 'github:seven', 'abuse report 17');
SELECT pg_temp.try('{"fid": 7, "external": {"github": "seven"}}') AS blocked_owned;
SELECT pg_temp.try('{"fid": 7, "external": {"github": "seven"}, "conflicts": "skip"}') AS blocked_skipped;
-- user_lookup() refuses a blocked identity too (DESIGN 3: every function), owned or not
SELECT user_upsert.user_lookup('external', 'GitHub:seven');
\set VERBOSITY sqlstate
SELECT user_upsert.user_lookup('wallet', '0x000000000000000000000000000000000000dEaD');
\set VERBOSITY default
SELECT user_upsert.user_lookup('id', (user_upsert.user_lookup('fid', '7')->>'id')) IS NOT NULL AS lookup_by_id_of_blocked_owner;
DELETE FROM user_upsert.blocked_identities WHERE value = 'github:seven';
SELECT pg_temp.try('{"fid": 7, "external": {"github": "seven"}}') AS unblocked;
SELECT user_upsert.user_lookup('external', 'github:seven')->>'fid' AS lookup_unblocked;
-- the hit path keeps the blocked list in memory: a block and its rollback in this transaction are seen at once
BEGIN;
INSERT INTO user_upsert.blocked_identities (kind, value, reason) VALUES ('fid', '7', 'in this transaction');
SELECT pg_temp.try('{"fid": 7}') AS blocked_in_transaction;
ROLLBACK;
SELECT pg_temp.try('{"fid": 7}') AS after_rollback;
UPDATE user_upsert.blocked_identities SET value = '7', kind = 'fid' WHERE value = '0x000000000000000000000000000000000000dead';
SELECT pg_temp.try('{"fid": 7}') AS blocked_by_update;
UPDATE user_upsert.blocked_identities SET value = '0x000000000000000000000000000000000000dead', kind = 'wallet' WHERE kind = 'fid';
SELECT pg_temp.try('{"fid": 7}') AS update_undone;
-- under REPEATABLE READ the list is read under the transaction's snapshot, as the table says
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pg_temp.try('{"wallets": ["0x000000000000000000000000000000000000dead"]}') AS rr_blocked;
SELECT pg_temp.try('{"fid": 7}') AS rr_fid;
COMMIT;

-- identities of two users: keep answers the first owner and merges nothing (the locking path decides)
SELECT user_upsert.user_upsert('{"wallets": ["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"], "username": "eight"}')->>'action' AS eight;
SELECT id AS eight FROM user_upsert.users WHERE username = 'eight' \gset
SELECT pg_temp.same_as_keep('{"wallets": ["0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"], "agent_id": "agent-7"}') AS two_owners,
       user_upsert.user_ensure('{"wallets": ["0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"], "agent_id": "agent-7"}')->'user'->>'username' AS answered;
-- an id that names nobody while the identities belong to someone: the contract's UU001, from the locking path
SELECT split_part(pg_temp.try('{"id": "00000000-0000-4000-8000-000000000001", "fid": 7}'), ' but', 1) AS id_names_nobody;
-- a merged user's id leads to the survivor
SELECT user_upsert.user_upsert('{"wallets": ["0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"], "agent_id": "agent-7"}')->>'action' AS merged;
SELECT r->>'action' AS merged_id_action, r->'user'->>'id' = :'seven' AS answers_survivor
  FROM user_upsert.user_ensure(jsonb_build_object('id', :'eight')) r;
-- ... on the hit path too: no lock, no transaction id
BEGIN;
SELECT user_upsert.user_ensure(jsonb_build_object('id', :'eight'))->'user'->>'id' = :'seven' AS hit_answers_survivor,
       txid_current_if_assigned() IS NULL AS no_xid;
SELECT count(*) AS locks_of_merged_id_hit FROM pg_locks
 WHERE locktype IN ('advisory', 'tuple', 'transactionid') AND pid = pg_backend_pid();
COMMIT;

-- writes earlier in the same transaction and the same statement are seen
BEGIN;
SELECT user_upsert.user_upsert('{"fid": 900}')->>'action' AS inserted_in_xact,
       user_upsert.user_ensure('{"fid": 900}')->>'action' AS seen_in_same_statement;
SELECT user_upsert.user_ensure('{"fid": 900}')->>'action' AS seen_in_xact;
ROLLBACK;
SELECT count(*) AS rolled_back FROM user_upsert.users WHERE fid = 900;
-- REPEATABLE READ: the hit path reads the transaction's snapshot
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT user_upsert.user_ensure('{"fid": 7}')->'user'->>'username' AS rr_username;
SELECT count(*) AS rr_advisory_locks FROM pg_locks WHERE locktype IN ('advisory', 'tuple', 'transactionid') AND pid = pg_backend_pid();
COMMIT;

-- a deleted user: its fid is free, so ensure creates a new user (through the locking path)
SELECT user_upsert.user_apply_event('{"type": "user.deleted", "timestamp": 1900000000000, "data": {"id": "user_7", "deleted": true}}', 'evt_del_7')->>'action' AS deleted;
SELECT r->>'action' AS after_delete, (r->'user'->>'id') <> :'seven' AS new_user
  FROM user_upsert.user_ensure('{"fid": 7}') r;

-- columns an application adds to users: a type the direct reader spells is in the document; another
-- type sends the call to the SQL path, which answers the same
-- the hit path reads with the caller's rights: without SELECT on the tables no answer; row security is
-- refused, never read past
CREATE ROLE uu_ensure_reader;
GRANT USAGE ON SCHEMA user_upsert TO uu_ensure_reader;
SET ROLE uu_ensure_reader;
SELECT user_upsert.user_ensure('{"fid": 7}');
SELECT user_upsert.user_lookup('fid', '7');
SELECT r->'error'->>'sqlstate' AS many_without_select FROM user_upsert.user_upsert_many('[{"fid": 7}]') r;
-- user_upsert()'s owner lookup reads through the indexes too, with the same checks
SELECT user_upsert.user_upsert('{"fid": 8}');
RESET ROLE;
GRANT SELECT ON user_upsert.users, user_upsert.identities TO uu_ensure_reader;
SET ROLE uu_ensure_reader;
SELECT user_upsert.user_ensure('{"fid": 7}');
RESET ROLE;
GRANT SELECT ON user_upsert.blocked_identities TO uu_ensure_reader;
SET ROLE uu_ensure_reader;
SELECT user_upsert.user_ensure('{"fid": 7}')->'user'->>'fid' AS with_select;
-- user_upsert() locks its user's row even to answer "unchanged", with FOR UPDATE's check: UPDATE on
-- users or on one of its columns
SELECT user_upsert.user_upsert('{"fid": 7}');
RESET ROLE;
ALTER TABLE user_upsert.users ENABLE ROW LEVEL SECURITY;
SET ROLE uu_ensure_reader;
SELECT user_upsert.user_ensure('{"fid": 7}');
RESET ROLE;
GRANT UPDATE ON user_upsert.users TO uu_ensure_reader;
SET ROLE uu_ensure_reader;
SELECT user_upsert.user_upsert('{"fid": 7, "username": "rls"}');
RESET ROLE;
ALTER TABLE user_upsert.users DISABLE ROW LEVEL SECURITY;
-- The blocked list is answered from the backend's copy: refused under row security all the same
ALTER TABLE user_upsert.blocked_identities ENABLE ROW LEVEL SECURITY;
SET ROLE uu_ensure_reader;
SELECT user_upsert.user_ensure('{"fid": 7}');
RESET ROLE;
ALTER TABLE user_upsert.blocked_identities DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON user_upsert.users, user_upsert.identities, user_upsert.blocked_identities FROM uu_ensure_reader;
REVOKE USAGE ON SCHEMA user_upsert FROM uu_ensure_reader;
DROP ROLE uu_ensure_reader;

ALTER TABLE user_upsert.users ADD COLUMN note text, ADD COLUMN score numeric, ADD COLUMN tags text[];
UPDATE user_upsert.users SET note = 'hello', score = 2.50, tags = '{a,b}' WHERE fid = 7;
SELECT r->'user'->'note' AS note, r->'user'->'score' AS score, r->'user'->'tags' AS tags
  FROM user_upsert.user_ensure('{"fid": 7}') r;
SELECT pg_temp.same_as_keep('{"fid": 7}') AS with_added_columns;
SELECT (user_upsert.user_lookup('fid', '7') - 'wallets'::text - 'external'::text) = to_jsonb(u) AS lookup_is_row
  FROM user_upsert.users u WHERE u.fid = 7;
-- an update writes them back unchanged and answers them: through the UPDATE statement while a column is
-- of a type the direct reader does not spell, in place once every column is one it spells
SELECT r->>'action' AS action, r->'user'->>'username' AS username, r->'user'->'note' AS note,
       r->'user'->'score' AS score, r->'user'->'tags' AS tags
  FROM user_upsert.user_upsert('{"fid": 7, "username": "with-numeric"}') r;
ALTER TABLE user_upsert.users DROP COLUMN score, DROP COLUMN tags;
SELECT r->>'action' AS action, r->'user'->>'username' AS username, r->'user'->'note' AS note
  FROM user_upsert.user_upsert('{"fid": 7, "username": "in-place"}') r;
SELECT username, note FROM user_upsert.users WHERE fid = 7;
ALTER TABLE user_upsert.users DROP COLUMN note;
SELECT pg_temp.same_as_keep('{"fid": 7}') AS after_drop_column;

-- the relations are found again after the extension is dropped and created in this session
DROP EXTENSION user_upsert CASCADE;
CREATE EXTENSION user_upsert;
SELECT user_upsert.user_ensure('{"fid": 5}')->>'action' AS recreated_first,
       user_upsert.user_ensure('{"fid": 5}')->>'action' AS recreated_second;

-- a hostile search_path changes nothing: the hit path resolves no name
CREATE FUNCTION public.uuid_out(uuid) RETURNS cstring LANGUAGE internal IMMUTABLE STRICT AS 'uuid_out';
CREATE TABLE public.identities (kind text, value text, user_id uuid);
CREATE TABLE public.users (id uuid, fid bigint);
INSERT INTO public.users VALUES ('00000000-0000-4000-8000-000000000666', 5);
SET search_path = public, pg_catalog;
SELECT (user_ensure->'user'->>'id') <> '00000000-0000-4000-8000-000000000666' AS not_fooled,
       user_ensure->>'action' AS action
  FROM user_upsert.user_ensure('{"fid": 5}');
RESET search_path;
DROP TABLE public.identities, public.users;
DROP FUNCTION public.uuid_out(uuid);
SELECT * FROM user_upsert.user_verify();
SET client_min_messages = warning;
DROP EXTENSION user_upsert CASCADE;
RESET client_min_messages;
