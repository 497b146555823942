-- Direct SQL on the tables keeps the guarantees (DESIGN.md section 6).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_upsert CASCADE;
RESET client_min_messages;
CREATE EXTENSION user_upsert;
CREATE FUNCTION pg_temp.label(u uuid) RETURNS text LANGUAGE sql AS
  $$ SELECT attrs->>'label' FROM user_upsert.users WHERE id = u $$;
CREATE FUNCTION pg_temp.id_of(l text) RETURNS uuid LANGUAGE sql AS
  $$ SELECT id FROM user_upsert.users WHERE attrs->>'label' = l $$;
-- Runs a statement; prints OK or the error with its DETAIL, user ids replaced by labels.
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text; m text[];
BEGIN
  EXECUTE stmt;
  RETURN 'OK';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
  FOR m IN SELECT regexp_matches(det, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', 'g') LOOP
    det := replace(det, m[1], coalesce(pg_temp.label(m[1]::uuid), '?'));
  END LOOP;
  RETURN st || ': ' || msg || CASE WHEN det <> '' THEN E'\n  DETAIL: ' || det ELSE '' END;
END $$;
CREATE VIEW pg_temp.state AS
  SELECT attrs->>'label' AS label, fid, primary_address, agent_id, version, pg_temp.label(merged_into) AS merged_into
    FROM user_upsert.users ORDER BY 1;
CREATE VIEW pg_temp.links AS
  SELECT kind, value, pg_temp.label(user_id) AS owner FROM user_upsert.identities ORDER BY 1, 2;

SELECT user_upsert.user_upsert('{"fid": 1, "wallets": ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"], "attrs": {"label": "A"}}')->>'action';
SELECT user_upsert.user_upsert('{"fid": 2, "attrs": {"label": "B"}}')->>'action';

-- INSERT of users: identity columns normalized and linked; the supplied version and timestamps kept.
INSERT INTO user_upsert.users (fid, primary_address, agent_id, attrs, version, created_at, updated_at)
VALUES (3, ' 0xFB6916095CA1DF60BB79CE92CE3EA74C37C5D359 ', 'agent-c', '{"label": "C"}', 7,
        '2020-01-01 00:00:00+00', '2021-01-01 00:00:00+00');
SELECT label, fid, primary_address, agent_id, version FROM pg_temp.state WHERE label = 'C';
SELECT created_at = '2020-01-01 00:00:00+00' AS kept_created_at, updated_at = '2021-01-01 00:00:00+00' AS kept_updated_at
  FROM user_upsert.users WHERE attrs->>'label' = 'C';
SELECT * FROM pg_temp.links WHERE owner = 'C';
-- Refusals: owned identity (UU001 whatever the setting), invalid value (22023), blocked (UU002).
SELECT pg_temp.try($$INSERT INTO user_upsert.users (fid) VALUES (1)$$);
SET user_upsert.direct_conflict = 'merge';
SELECT pg_temp.try($$INSERT INTO user_upsert.users (fid) VALUES (1)$$);
-- its hint names what merges, not the setting that is already on and does not apply
DO $$
BEGIN
  INSERT INTO user_upsert.users (fid) VALUES (1);
EXCEPTION WHEN OTHERS THEN
  DECLARE hint text;
  BEGIN
    GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
    RAISE NOTICE 'hint: %', hint;
  END;
END $$;
RESET user_upsert.direct_conflict;
SELECT pg_temp.try($$INSERT INTO user_upsert.users (primary_address) VALUES ('0xBAD')$$);
SELECT pg_temp.try($$INSERT INTO user_upsert.users (agent_id) VALUES ('has space')$$);
SELECT pg_temp.try($$INSERT INTO user_upsert.users (fid) VALUES (0)$$);
SELECT pg_temp.try($$INSERT INTO user_upsert.users (primary_address) VALUES ('0x000000000000000000000000000000000000dEaD')$$);
SELECT pg_temp.try(format($$INSERT INTO user_upsert.users (id) VALUES (%L)$$, pg_temp.id_of('A')));
SELECT count(*) AS users_after_refusals FROM user_upsert.users;

-- UPDATE of users: version + 1, updated_at now(), identities follow the columns.
UPDATE user_upsert.users SET fid = 4 WHERE attrs->>'label' = 'B';
SELECT label, fid, version FROM pg_temp.state WHERE label = 'B';
SELECT * FROM pg_temp.links WHERE kind = 'fid';
-- A new primary_address is linked as a wallet and the old one stays.
UPDATE user_upsert.users SET primary_address = '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB', username = 'x' WHERE attrs->>'label' = 'A';
SELECT label, primary_address, version FROM pg_temp.state WHERE label = 'A';
SELECT * FROM pg_temp.links WHERE owner = 'A';
-- Clearing primary_address leaves the wallet linked.
UPDATE user_upsert.users SET primary_address = NULL WHERE attrs->>'label' = 'A';
SELECT count(*) AS a_wallets FROM pg_temp.links WHERE owner = 'A' AND kind = 'wallet';
UPDATE user_upsert.users SET username = 'y' WHERE attrs->>'label' = 'A';
SELECT version, updated_at > created_at AS updated_at_moved FROM user_upsert.users WHERE attrs->>'label' = 'A';
-- Owned elsewhere: UU001 naming the owner, never 23505.
SELECT pg_temp.try($$UPDATE user_upsert.users SET fid = 1 WHERE attrs->>'label' = 'B'$$);
SELECT pg_temp.try($$UPDATE user_upsert.users SET primary_address = '0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359' WHERE attrs->>'label' = 'B'$$);

-- INSERT of identities: normalized by kind; mirrors follow; the same user's identity again is a no-op.
INSERT INTO user_upsert.identities (kind, value, user_id) VALUES ('external', 'Clerk:user_b', pg_temp.id_of('B'));
INSERT INTO user_upsert.identities (kind, value, user_id) VALUES ('external', 'clerk:user_b', pg_temp.id_of('B'));
INSERT INTO user_upsert.identities (kind, value, user_id) VALUES ('agent', 'agent-b', pg_temp.id_of('B'));
SELECT label, agent_id FROM pg_temp.state WHERE label = 'B';
SELECT pg_temp.try($$INSERT INTO user_upsert.identities (kind, value, user_id) VALUES ('external', 'clerk:user_b2', pg_temp.id_of('B'))$$);
SELECT pg_temp.try($$INSERT INTO user_upsert.identities (kind, value, user_id) VALUES ('agent', 'agent-b2', pg_temp.id_of('B'))$$);
SELECT pg_temp.try($$INSERT INTO user_upsert.identities (kind, value, user_id) VALUES ('fid', '1', pg_temp.id_of('B'))$$);
SELECT pg_temp.try($$INSERT INTO user_upsert.identities (kind, value, user_id) VALUES ('wallet', '0x0000000000000000000000000000000000000000', pg_temp.id_of('B'))$$);
SELECT pg_temp.try($$INSERT INTO user_upsert.identities (kind, value, user_id) VALUES ('fid', '01', pg_temp.id_of('B'))$$);
SELECT pg_temp.try($$INSERT INTO user_upsert.identities (kind, value, user_id) VALUES ('email', 'x@y', pg_temp.id_of('B'))$$);

-- DELETE of identities clears the mirror; deleting the primary wallet clears primary_address.
UPDATE user_upsert.users SET primary_address = '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed' WHERE attrs->>'label' = 'A';
DELETE FROM user_upsert.identities WHERE kind = 'wallet' AND value = '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed';
DELETE FROM user_upsert.identities WHERE kind = 'agent' AND value = 'agent-b';
SELECT label, fid, primary_address, agent_id FROM pg_temp.state WHERE label IN ('A', 'B');

-- UPDATE identities SET user_id moves the identity; UU001 when the target holds another of that kind.
UPDATE user_upsert.identities SET user_id = pg_temp.id_of('A') WHERE kind = 'external' AND value = 'clerk:user_b';
SELECT * FROM pg_temp.links WHERE kind = 'external';
SELECT pg_temp.try($$UPDATE user_upsert.identities SET user_id = pg_temp.id_of('C') WHERE kind = 'fid' AND value = '4'$$);
UPDATE user_upsert.identities SET user_id = pg_temp.id_of('A') WHERE kind = 'agent' AND value = 'agent-c';
SELECT label, agent_id FROM pg_temp.state WHERE label IN ('A', 'C');
SELECT * FROM user_upsert.user_verify();

-- direct_conflict = merge: the user being written survives (4.4).
SELECT user_upsert.user_upsert('{"wallets": ["0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"], "username": "dee", "attrs": {"label": "D"}}')->>'action';
SELECT user_upsert.user_upsert('{"agent_id": "agent-e", "display_name": "Eve", "attrs": {"label": "E"}}')->>'action';
SET user_upsert.direct_conflict = 'merge';
INSERT INTO user_upsert.identities (kind, value, user_id) VALUES ('wallet', '0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb', pg_temp.id_of('B'));
SELECT label, merged_into FROM pg_temp.state WHERE label IN ('B', 'D');
SELECT username FROM user_upsert.users WHERE attrs->>'label' = 'B';
UPDATE user_upsert.users SET agent_id = 'agent-e', display_name = 'From update' WHERE attrs->>'label' = 'B';
SELECT label, fid, agent_id, version, merged_into FROM pg_temp.state WHERE label IN ('B', 'E');
SELECT display_name FROM user_upsert.users WHERE attrs->>'label' = 'B';
SELECT pg_temp.label(survivor_id) AS survivor, pg_temp.label(merged_id) AS merged FROM user_upsert.merges ORDER BY merged_at, 2;
-- merge mode still refuses users holding different agents (A holds agent-c), and writes nothing
SELECT pg_temp.try($$UPDATE user_upsert.users SET fid = 1 WHERE attrs->>'label' = 'B'$$);
SELECT label, fid, agent_id, version FROM pg_temp.state WHERE label IN ('A', 'B');
-- UPDATE identities SET value to a value another user owns: the row's old
-- identity goes and the owner is merged into the row's user, which survives
-- though it is the newer one
SELECT user_upsert.user_upsert('{"wallets": ["0x00000000000000000000000000000000000000f1"], "attrs": {"label": "F"}}')->>'action';
SELECT user_upsert.user_upsert('{"wallets": ["0x00000000000000000000000000000000000000f2"], "attrs": {"label": "G"}}')->>'action';
UPDATE user_upsert.identities SET value = '0x00000000000000000000000000000000000000f1'
 WHERE value = '0x00000000000000000000000000000000000000f2';
SELECT label, primary_address, merged_into FROM pg_temp.state WHERE label IN ('F', 'G');
SELECT * FROM pg_temp.links WHERE value LIKE '0x00000000000000000000000000000000000000f_';
DELETE FROM user_upsert.users WHERE attrs->>'label' = 'G'; -- and its tombstone F; the audit row stays
RESET user_upsert.direct_conflict;
SELECT * FROM user_upsert.user_verify();

-- an identity's value changed in place is one write of its user: version + 1
SELECT user_upsert.user_upsert('{"agent_id": "agent-r1", "fid": 80, "attrs": {"label": "R"}}')->'user'->>'version' AS version_before;
UPDATE user_upsert.identities SET value = 'agent-r2' WHERE kind = 'agent' AND value = 'agent-r1';
UPDATE user_upsert.identities SET value = '81' WHERE kind = 'fid' AND value = '80';
SELECT label, fid, agent_id, version FROM pg_temp.state WHERE label = 'R';
DELETE FROM user_upsert.users WHERE attrs->>'label' = 'R';
-- Deleting a user deletes its identities and its tombstones; merge audit rows stay.
DELETE FROM user_upsert.users WHERE attrs->>'label' = 'B';
SELECT label FROM pg_temp.state;
SELECT count(*) AS orphan_identities FROM user_upsert.identities i
 WHERE NOT EXISTS (SELECT FROM user_upsert.users u WHERE u.id = i.user_id);
SELECT count(*) AS merge_rows_kept FROM user_upsert.merges;

-- The users_upsert view: INSERT … RETURNING * through user_upsert().
INSERT INTO user_upsert.users_upsert (fid, username, attrs) VALUES (50, 'viewer', '{"label": "V"}')
RETURNING fid, username, version, attrs->>'label' AS label;
INSERT INTO user_upsert.users_upsert (fid, display_name) VALUES (50, 'V again')
RETURNING fid, username, display_name, version;
SELECT count(*) AS v_users FROM user_upsert.users WHERE fid = 50;

-- merged_into and deleted_at are the extension's: a direct write would leave
-- identities on a user that is not live (an upsert by them then met 23505).
SELECT user_upsert.user_upsert('{"fid": 70, "wallets": ["0x7000000000000000000000000000000000000070"], "attrs": {"label": "M1"}}')->>'action';
SELECT user_upsert.user_upsert('{"fid": 71, "attrs": {"label": "M2"}}')->>'action';
SELECT pg_temp.try($$UPDATE user_upsert.users SET merged_into = (SELECT id FROM user_upsert.users WHERE fid = 71)
                      WHERE fid = 70$$) AS merge_by_hand;
SELECT pg_temp.try($$UPDATE user_upsert.users SET merged_into = id WHERE fid = 70$$) AS self_merge;
SELECT pg_temp.try($$UPDATE user_upsert.users SET deleted_at = now() WHERE fid = 70$$) AS delete_by_hand;
SELECT pg_temp.try($$INSERT INTO user_upsert.users (fid, deleted_at) VALUES (72, now())$$) AS deleted_with_fid;
SELECT pg_temp.try($$INSERT INTO user_upsert.users (primary_address, merged_into)
                      SELECT '0x7000000000000000000000000000000000000073', id FROM user_upsert.users WHERE fid = 71$$)
       AS tombstone_with_wallet;
SELECT pg_temp.try($$INSERT INTO user_upsert.users (id, merged_into) VALUES
                      ('00000000-0000-4000-8000-000000000077', '00000000-0000-4000-8000-000000000077')$$) AS tombstone_of_itself;
-- tombstones merged into each other in one statement (a cycle no row closes
-- alone) are refused too; a chain that ends at a live row is restored
SELECT pg_temp.try($$INSERT INTO user_upsert.users (id, merged_into) VALUES
                      ('00000000-0000-4000-8000-000000000078', '00000000-0000-4000-8000-000000000079'),
                      ('00000000-0000-4000-8000-000000000079', '00000000-0000-4000-8000-00000000007a'),
                      ('00000000-0000-4000-8000-00000000007a', '00000000-0000-4000-8000-000000000078')$$) AS tombstone_cycle;
SELECT pg_temp.try($$INSERT INTO user_upsert.users (id, merged_into) VALUES
                      ('00000000-0000-4000-8000-000000000078', '00000000-0000-4000-8000-000000000079'),
                      ('00000000-0000-4000-8000-000000000079', NULL)$$) AS tombstone_chain;
SELECT count(*) AS cycle_problems FROM user_upsert.user_verify() WHERE problem = 'merge_chain_cycle';
DELETE FROM user_upsert.users WHERE id = '00000000-0000-4000-8000-000000000079';
SELECT label, fid, primary_address, version, merged_into FROM pg_temp.state WHERE label IN ('M1', 'M2');
SELECT (user_upsert.user_upsert('{"wallets": ["0x7000000000000000000000000000000000000070"], "display_name": "m"}')
        ->'user'->>'fid') AS wallet_still_reaches_m1;
-- a tombstone as pg_restore inserts it (no identity columns) is accepted, and
-- the ordinary columns of tombstones stay writable; identity columns do not
SELECT pg_temp.try($$INSERT INTO user_upsert.users (attrs, merged_into)
                      SELECT '{"label": "M3"}', id FROM user_upsert.users WHERE fid = 71$$) AS restored_tombstone;
SELECT pg_temp.try($$UPDATE user_upsert.users SET username = 'old' WHERE attrs->>'label' = 'M3'$$) AS tombstone_username;
SELECT pg_temp.try($$UPDATE user_upsert.users SET fid = 74 WHERE attrs->>'label' = 'M3'$$) AS tombstone_fid;
SELECT label, fid, version, merged_into FROM pg_temp.state WHERE label = 'M3';
SELECT * FROM user_upsert.user_verify();

-- blocked_identities holds normalized values, as identities are matched: a
-- block typed in another spelling is stored normalized (and so blocks), an
-- invalid one is 22023
INSERT INTO user_upsert.blocked_identities (kind, value) VALUES
    ('wallet', ' 0xABCDEF0000000000000000000000000000000099'), ('fid', ' 81 '), ('external', 'CLERK:user_blocked');
SELECT kind, value FROM user_upsert.blocked_identities WHERE reason = 'blocked' ORDER BY 1, 2;
SELECT pg_temp.try($$INSERT INTO user_upsert.blocked_identities (kind, value) VALUES ('fid', '007')$$) AS leading_zero;
SELECT pg_temp.try($$INSERT INTO user_upsert.blocked_identities (kind, value)
                      VALUES ('wallet', '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe1')$$) AS bad_checksum;
SELECT pg_temp.try($$UPDATE user_upsert.blocked_identities SET value = 'not a wallet' WHERE value LIKE '0xabcdef%'$$) AS bad_update;
SELECT pg_temp.try($$SELECT user_upsert.user_upsert('{"wallets": ["0xabcdef0000000000000000000000000000000099"]}')$$) AS wallet_blocked,
       pg_temp.try($$SELECT user_upsert.user_upsert('{"external": {"clerk": "user_blocked"}}')$$) AS clerk_blocked;
DELETE FROM user_upsert.blocked_identities WHERE reason = 'blocked';

-- max_wallets holds for direct SQL too, within one multi-row statement and for
-- a new primary_address (linked as a wallet), as user_upsert() refuses it
SET user_upsert.max_wallets = 2;
SELECT user_upsert.user_upsert('{"fid": 90, "wallets": ["0x9000000000000000000000000000000000000001"], "attrs": {"label": "W"}}')->>'action';
SELECT pg_temp.try($$INSERT INTO user_upsert.identities (kind, value, user_id)
                      SELECT 'wallet', '0x90000000000000000000000000000000000000' || lpad(g::text, 2, '0'), u.id
                        FROM user_upsert.users u, generate_series(2, 3) g WHERE u.fid = 90$$) AS two_more_wallets;
SELECT pg_temp.try($$INSERT INTO user_upsert.identities (kind, value, user_id)
                      SELECT 'wallet', '0x9000000000000000000000000000000000000002', id FROM user_upsert.users WHERE fid = 90$$) AS one_more_wallet;
SELECT pg_temp.try($$UPDATE user_upsert.users SET primary_address = '0x9000000000000000000000000000000000000009' WHERE fid = 90$$) AS new_primary;
SELECT pg_temp.try($$UPDATE user_upsert.users SET primary_address = '0x9000000000000000000000000000000000000002' WHERE fid = 90$$) AS held_primary;
SELECT value FROM pg_temp.links WHERE owner = 'W' AND kind = 'wallet';
RESET user_upsert.max_wallets;

-- TRUNCATE identities fires no row trigger: the mirrors are cleared after it,
-- so no user keeps a fid the identities no longer hold (and a lookup by fid
-- agrees with the identities)
BEGIN;
TRUNCATE user_upsert.identities;
SELECT count(*) FILTER (WHERE fid IS NOT NULL OR primary_address IS NOT NULL OR agent_id IS NOT NULL) AS users_with_mirrors
  FROM user_upsert.users;
SELECT user_upsert.user_lookup('fid', '90') AS lookup_after_truncate;
SELECT * FROM user_upsert.user_verify();
ROLLBACK;

-- the attribute columns get a payload's checks too: email normalized (or
-- 22023), text attributes bounded and free of control characters, attrs an
-- object, an inserted version at least 1
SELECT pg_temp.try($$UPDATE user_upsert.users SET email = 'not an email' WHERE fid = 90$$) AS bad_email;
UPDATE user_upsert.users SET email = ' Wanda@Example.COM ' WHERE fid = 90 RETURNING email;
SELECT pg_temp.try($$UPDATE user_upsert.users SET username = E'w\u0085x' WHERE fid = 90$$) AS c1_in_username,
       pg_temp.try($$UPDATE user_upsert.users SET display_name = repeat('d', 4097) WHERE fid = 90$$) AS long_display_name,
       pg_temp.try($$UPDATE user_upsert.users SET attrs = '[1, 2]' WHERE fid = 90$$) AS attrs_array;
SELECT pg_temp.try($$INSERT INTO user_upsert.users (fid, version) VALUES (91, 0)$$) AS version_zero;
SELECT * FROM user_upsert.user_verify();

-- session_replication_role = replica: the triggers do not fire, as usual.
SET session_replication_role = replica;
INSERT INTO user_upsert.users (fid, attrs) VALUES (60, '{"label": "R"}');
RESET session_replication_role;
SELECT count(*) AS identities_of_r FROM user_upsert.identities WHERE value = '60';
SELECT problem FROM user_upsert.user_verify();

SET client_min_messages = warning;
DROP EXTENSION user_upsert CASCADE;
RESET client_min_messages;
