-- Auth-provider sync (DESIGN.md section 7): user_ensure, conflicts: skip,
-- user_upsert_from, user_apply_event and its ledger, user_upsert_many.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_upsert CASCADE;
RESET client_min_messages;
CREATE EXTENSION user_upsert;
CREATE FUNCTION pg_temp.label(u uuid) RETURNS text LANGUAGE sql AS
  $$ SELECT coalesce(attrs->>'label', username, 'user') FROM user_upsert.users WHERE id = u $$;
CREATE FUNCTION pg_temp.try(p jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r jsonb; st text; msg text;
BEGIN
  r := user_upsert.user_ensure(p);
  RETURN r->>'action';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
  RETURN st || ': ' || msg;
END $$;

-- user_ensure: creates once, then answers without writing (version and xmin unchanged).
SELECT user_upsert.user_ensure('{"external": {"clerk": "user_1"}, "email": "One@Example.com", "attrs": {"label": "one"}}') - 'user' AS first;
SELECT xmin AS xmin_before, version AS version_before FROM user_upsert.users WHERE attrs->>'label' = 'one' \gset
SELECT r->>'action' AS action, r->'user'->>'email' AS email
  FROM user_upsert.user_ensure('{"external": {"clerk": "user_1"}, "email": "changed@example.com", "fid": 9}') r;
SELECT xmin = :'xmin_before' AS row_not_rewritten, version = :version_before AS same_version
  FROM user_upsert.users WHERE attrs->>'label' = 'one';
SELECT count(*) AS fid_not_linked FROM user_upsert.identities WHERE kind = 'fid';
-- no lock taken and no transaction id used on the hit path
BEGIN;
SELECT user_upsert.user_ensure('{"external": {"clerk": "user_1"}}')->>'action' AS action;
SELECT count(*) AS advisory_locks FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_xid;
COMMIT;
-- same errors as user_upsert
SELECT pg_temp.try('{"wallets": ["0x0000000000000000000000000000000000000000"]}');
SELECT pg_temp.try('{"externall": {"clerk": "x"}}');
SELECT pg_temp.try('[]');
SELECT pg_temp.try('{"observed_at": "2000-01-01T00:00:00Z", "external": {"clerk": "user_1"}}');

-- conflicts: skip leaves out what would be refused and lists it.
SELECT user_upsert.user_upsert('{"fid": 100, "wallets": ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"], "attrs": {"label": "hundred"}}')->>'action';
SELECT r->>'action' AS action, r->'user'->'fid' AS fid, r->'user'->'wallets' AS wallets,
       jsonb_path_query_array(r->'skipped', '$[*].kind') AS skipped_kinds,
       jsonb_path_query_array(r->'skipped', '$[*].value') AS skipped_values
  FROM user_upsert.user_upsert('{"fid": 101, "conflicts": "skip", "wallets": ["0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", "0x0000000000000000000000000000000000000000"]}') r;
SELECT r->>'action' AS action, r->'skipped' AS skipped
  FROM user_upsert.user_upsert('{"fid": 101, "conflicts": "error", "username": "hundred-one"}') r;
-- identities are taken in the order fid, external, agent, wallets: the new fid wins, the wallet of fid 100 is left out
SELECT r->>'action' AS action, r->'user'->'fid' AS fid, r->'skipped'->0->>'kind' AS skipped_kind,
       r->'skipped'->0->>'reason' LIKE 'belongs to user %, which cannot be merged: it has fid 100 and the result has fid 102' AS reason
  FROM user_upsert.user_upsert('{"conflicts": "skip", "fid": 102, "wallets": ["0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"], "username": "x"}') r;
SELECT (user_upsert.user_upsert('{"conflicts": "skip", "wallets": ["0x0000000000000000000000000000000000000000"]}'));
SELECT * FROM user_upsert.user_verify();

-- user_upsert_from: Clerk and Farcaster profiles in the providers' shapes.
SELECT r->>'action' AS action, r->'user'->>'email' AS email, r->'user'->>'display_name' AS display_name,
       r->'user'->>'username' AS username, r->'user'->'wallets' AS wallets, r->'user'->'external' AS external,
       r->'user'->'attrs' AS attrs
  FROM user_upsert.user_upsert_from('clerk', '{
    "id": "user_2abc", "object": "user", "username": "ada", "first_name": "Ada", "last_name": "Lovelace",
    "image_url": "https://img.clerk.com/ada.png", "primary_email_address_id": "idn_2",
    "email_addresses": [{"id": "idn_1", "email_address": "old@example.com", "verification": {"status": "verified"}},
                        {"id": "idn_2", "email_address": "Ada@Example.com", "verification": {"status": "verified"}}],
    "web3_wallets": [{"id": "w1", "web3_wallet": "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "verification": {"status": "verified"}},
                     {"id": "w2", "web3_wallet": "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb", "verification": {"status": "unverified"}}],
    "public_metadata": {"plan": "pro"}, "private_metadata": {"secret": "never copied"},
    "unsafe_metadata": {}, "phone_numbers": [], "external_accounts": [{"provider": "oauth_google"}],
    "created_at": 1700000000000, "updated_at": 1700000001000}') r;
SELECT count(*) AS private_metadata_copied FROM user_upsert.users WHERE attrs::text LIKE '%never copied%';
SELECT r->>'action' AS action, r->'user'->'fid' AS fid, r->'user'->>'username' AS username,
       r->'user'->>'primary_address' AS primary_address, r->'user'->'wallets' AS wallets,
       jsonb_array_length(r->'skipped') AS skipped
  FROM user_upsert.user_upsert_from('farcaster', '{
    "object": "user", "fid": 3, "username": "dwr", "display_name": "Dan", "pfp_url": "https://i.imgur.com/x.png",
    "custody_address": "0x6b0bda3f2ffed5efc83fa8c024acff1dd45793f1",
    "verified_addresses": {"eth_addresses": ["0xd7029bdea1c17493893aafe29aad69ef892b8ff2", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"],
                           "sol_addresses": ["So11111111111111111111111111111111111111112"],
                           "primary": {"eth_address": "0xd7029bdea1c17493893aafe29aad69ef892b8ff2", "sol_address": null}},
    "follower_count": 1000, "power_badge": true, "profile": {"bio": {"text": "hi"}}}') r;
SELECT user_upsert.user_upsert_from('github', '{"id": 1}');
SELECT user_upsert.user_upsert_from('clerk', '{"username": "no id"}');
SELECT user_upsert.user_upsert_from('clerk', '{"id": "user_2abc"}', 'replace');

-- user_apply_event: idempotent per event_id, stale-safe, deletions stick.
SELECT r->>'action' AS action, r->'user'->>'username' AS username
  FROM user_upsert.user_apply_event('{"type": "user.created", "object": "event", "timestamp": 1700000010000,
    "data": {"id": "user_ev", "username": "eve", "updated_at": 1700000010000, "email_addresses": []}}', 'evt_1') r;
SELECT r->>'action' AS action, r->'result'->>'action' AS first_action
  FROM user_upsert.user_apply_event('{"type": "user.created", "object": "event", "timestamp": 1700000010000,
    "data": {"id": "user_ev", "username": "eve", "updated_at": 1700000010000}}', 'evt_1') r;
SELECT r->>'action' AS action, r->'user'->>'username' AS username
  FROM user_upsert.user_apply_event('{"type": "user.updated", "timestamp": 1700000030000,
    "data": {"id": "user_ev", "username": "eve2", "updated_at": 1700000030000}}', 'evt_3') r;
SELECT r->>'action' AS action, r->'user'->>'username' AS username
  FROM user_upsert.user_apply_event('{"type": "user.updated", "timestamp": 1700000020000,
    "data": {"id": "user_ev", "username": "eve-late", "updated_at": 1700000020000}}', 'evt_2') r;
SELECT user_upsert.user_apply_event('{"type": "session.created", "data": {"id": "sess_1"}}', 'evt_4') AS ignored;
-- user.deleted: personal fields erased, wallets/fid/agent freed, external kept
SELECT user_upsert.user_upsert('{"external": {"clerk": "user_ev"}, "fid": 77, "wallets": ["11111111111111111111111111111111"]}')->>'action';
SELECT r->>'action' AS action, r->'user'->>'username' AS username, r->'user'->'wallets' AS wallets,
       r->'user'->'external' AS external, r->'user'->'fid' AS fid, (r->'user'->>'deleted_at') IS NOT NULL AS deleted
  FROM user_upsert.user_apply_event('{"type": "user.deleted", "timestamp": 1700000040000,
    "data": {"id": "user_ev", "object": "user", "deleted": true}}', 'evt_5') r;
SELECT i.kind, i.value FROM user_upsert.identities i JOIN user_upsert.users u ON u.id = i.user_id
 WHERE u.deleted_at IS NOT NULL ORDER BY 1;
-- a late update for the deleted user changes nothing and answers deleted
SELECT r->>'action' AS action, r->'user'->>'username' AS username
  FROM user_upsert.user_apply_event('{"type": "user.updated", "timestamp": 1700000050000,
    "data": {"id": "user_ev", "username": "resurrected", "updated_at": 1700000050000}}', 'evt_6') r;
-- a user.deleted that arrives before its user.created (webhooks come in any
-- order) leaves the same tombstone: the late create answers deleted, not a live user
SELECT r->>'action' AS action, r->'user'->'external' AS external, (r->'user'->>'deleted_at') IS NOT NULL AS deleted
  FROM user_upsert.user_apply_event('{"type": "user.deleted", "timestamp": 1700000060000,
    "data": {"id": "user_early_delete", "deleted": true}}', 'evt_7') r;
SELECT r->>'action' AS action, r->'user'->>'username' AS username
  FROM user_upsert.user_apply_event('{"type": "user.created", "timestamp": 1700000000000,
    "data": {"id": "user_early_delete", "username": "ghost", "updated_at": 1700000000000}}', 'evt_8') r;
SELECT count(*) AS users_of_early_delete, count(*) FILTER (WHERE u.deleted_at IS NULL) AS live
  FROM user_upsert.users u JOIN user_upsert.identities i ON i.user_id = u.id WHERE i.value = 'clerk:user_early_delete';
-- user.deleted erases the rows merged into the user too: no tombstone keeps
-- the person's email, names, avatar or attrs
SELECT user_upsert.user_upsert('{"wallets": ["0x6666666666666666666666666666666666666666"],
    "email": "pii@example.com", "display_name": "PII Name", "avatar_url": "https://example.com/a.png",
    "attrs": {"k": 1}}')->>'action' AS action;
SELECT user_upsert.user_apply_event('{"type": "user.created", "timestamp": 1700000000000,
    "data": {"id": "user_pii", "username": "pii", "updated_at": 1700000000000}}')->>'action' AS action;
SELECT user_upsert.user_apply_event('{"type": "user.updated", "timestamp": 1700000000001,
    "data": {"id": "user_pii", "updated_at": 1700000000001, "web3_wallets": [{"id": "idn_w",
      "web3_wallet": "0x6666666666666666666666666666666666666666", "verification": {"status": "verified"}}]}}')->>'action' AS action;
SELECT user_upsert.user_apply_event('{"type": "user.deleted", "timestamp": 1700000100000,
    "data": {"id": "user_pii", "deleted": true}}')->>'action' AS action;
SELECT u.merged_into IS NOT NULL AS tombstone, u.deleted_at IS NOT NULL AS deleted,
       u.email, u.username, u.display_name, u.avatar_url, u.attrs
  FROM user_upsert.users u
 WHERE u.id = (SELECT user_id FROM user_upsert.identities WHERE kind = 'external' AND value = 'clerk:user_pii')
    OR u.merged_into = (SELECT user_id FROM user_upsert.identities WHERE kind = 'external' AND value = 'clerk:user_pii')
 ORDER BY 1;
-- the freed fid and wallet go to a new user
SELECT user_upsert.user_upsert('{"fid": 77, "wallets": ["11111111111111111111111111111111"]}')->>'action' AS freed;
SELECT event_id, type, result->>'action' AS action FROM user_upsert.events ORDER BY event_id;
-- no event_id: applied, not recorded
SELECT user_upsert.user_apply_event('{"type": "user.created", "data": {"id": "user_noid"}}')->>'action' AS action;
SELECT count(*) AS ledger_rows FROM user_upsert.events;
SELECT user_upsert.user_apply_event('{"type": 1}', 'evt_bad');
SELECT user_upsert.user_apply_event('{"type": "user.created", "data": {"id": ""}}', 'evt_bad');
-- outcome(query): the query's one value, or its error's SQLSTATE, message and detail
CREATE FUNCTION pg_temp.outcome(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text; st text; msg text; det text;
BEGIN
  EXECUTE query INTO r;
  RETURN r;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
  RETURN st || ': ' || msg || coalesce(' (' || nullif(det, '') || ')', '');
END $$;
-- an event_id that cannot be a ledger key is refused (22023) before the event applies
CREATE FUNCTION pg_temp.apply_with_id(event_id text) RETURNS text LANGUAGE sql AS $$
  SELECT pg_temp.outcome(format($q$SELECT user_upsert.user_apply_event(
      '{"type": "user.created", "data": {"id": "user_badid"}}', %L)->>'action'$q$, event_id)) $$;
SELECT given, pg_temp.apply_with_id(id) AS outcome
  FROM (VALUES ('empty', ''), ('256 bytes', repeat('k', 256)), ('a newline', E'msg\n1')) AS v(given, id);
SELECT count(*) AS badid_users FROM user_upsert.identities WHERE value = 'clerk:user_badid';
SELECT pg_temp.apply_with_id(repeat('k', 255)) AS id_of_255_bytes;
-- an event_id the ledger holds for another event (another type, or another
-- Clerk user) is refused (22023), not answered "duplicate" and dropped
SELECT pg_temp.outcome($q$SELECT user_upsert.user_apply_event('{"type": "user.deleted", "timestamp": 1700000090000,
    "data": {"id": "user_other", "deleted": true}}', 'evt_1')$q$) AS another_type;
SELECT pg_temp.outcome($q$SELECT user_upsert.user_apply_event('{"type": "user.created", "timestamp": 1700000010000,
    "data": {"id": "user_other", "username": "other"}}', 'evt_1')$q$) AS another_user;
SELECT count(*) AS users_of_user_other FROM user_upsert.identities WHERE value = 'clerk:user_other';
-- a user.deleted whose data says the user is not deleted contradicts itself:
-- refused (22023), nothing erased, nothing recorded
SELECT user_upsert.user_upsert('{"external": {"clerk": "user_kept"}, "username": "kept"}')->>'action' AS action;
SELECT pg_temp.outcome($q$SELECT user_upsert.user_apply_event('{"type": "user.deleted", "timestamp": 1700000070000,
    "data": {"id": "user_kept", "deleted": false}}', 'evt_not_deleted')$q$) AS outcome;
SELECT u.username, u.deleted_at IS NULL AS live,
       (SELECT count(*) FROM user_upsert.events WHERE event_id = 'evt_not_deleted') AS recorded
  FROM user_upsert.users u JOIN user_upsert.identities i ON i.user_id = u.id WHERE i.value = 'clerk:user_kept';
-- cleanup is bounded
UPDATE user_upsert.events SET received_at = now() - interval '40 days' WHERE event_id IN ('evt_1', 'evt_2', 'evt_3');
SELECT user_upsert.events_cleanup('30 days', 2) AS removed, user_upsert.events_cleanup() AS removed_next;
SELECT count(*) AS left FROM user_upsert.events;
-- an unbounded or negative cleanup is refused (22023), not run
SELECT older_than, max_rows,
       pg_temp.outcome(format('SELECT user_upsert.events_cleanup(%L::interval, %L::integer)', older_than, max_rows))
           AS outcome
  FROM (VALUES (NULL::interval, 10), ('-1 day', 10), ('30 days', NULL::integer), ('30 days', -1),
               ('0 days', 0)) AS v(older_than, max_rows);
SELECT count(*) AS left_after_refusals FROM user_upsert.events;
-- an interval reaching before the first timestamp PostgreSQL can hold removes nothing, without an error
SELECT user_upsert.events_cleanup('178000000 years', 10) AS removed_older_than_time;
SELECT * FROM user_upsert.user_verify();

-- user_upsert_many: one result per element, in order, bad elements reported.
SELECT r->>'ordinal' AS ordinal, coalesce(r->>'action', r->'error'->>'sqlstate') AS outcome
  FROM user_upsert.user_upsert_many('[{"fid": 500}, {"fid": 1.5}, {"fid": 500, "username": "again"}, 7,
                                     {"wallets": ["0x000000000000000000000000000000000000dead"]}, {"fid": 501}]') r;
SELECT count(*) AS fid_500_users FROM user_upsert.users WHERE fid = 500;
SELECT user_upsert.user_upsert_many('{"fid": 1}');
SELECT count(*) AS many_empty FROM user_upsert.user_upsert_many('[]');
SELECT count(*) AS locks_left FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
-- many calls in one transaction switch to batch mode instead of filling the lock table
BEGIN;
SELECT count(user_upsert.user_upsert(jsonb_build_object('fid', g, 'wallets', jsonb_build_array('0x' || lpad(to_hex(g), 40, 'a')))))
  FROM generate_series(2000, 2999) g;
SELECT count(*) <= 258 AS bounded_locks FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
COMMIT;
SELECT count(*) AS batch_users FROM user_upsert.users WHERE fid BETWEEN 2000 AND 2999;
SELECT * FROM user_upsert.user_verify();

SET client_min_messages = warning;
DROP EXTENSION user_upsert CASCADE;
RESET client_min_messages;
