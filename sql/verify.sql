-- user_verify() reports each broken invariant (amcheck style) and is empty when healthy.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_upsert CASCADE;
RESET client_min_messages;
CREATE EXTENSION user_upsert;
SELECT user_upsert.user_upsert('{"fid": 1, "wallets": ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"], "agent_id": "a1", "external": {"clerk": "u1"}, "attrs": {"label": "one"}}')->>'action';
SELECT user_upsert.user_upsert('{"fid": 2, "attrs": {"label": "two"}}')->>'action';
SELECT user_upsert.user_upsert('{"wallets": ["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"], "attrs": {"label": "three"}}')->>'action';
SELECT user_upsert.user_upsert('{"fid": 2, "wallets": ["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}')->>'action';
SELECT count(*) AS problems_when_healthy FROM user_upsert.user_verify();

-- Break one invariant at a time, bypassing every check, and see it reported.
SET session_replication_role = replica;
CREATE FUNCTION pg_temp.problems() RETURNS TABLE (problem text, label text, detail text) LANGUAGE sql AS $$
  SELECT v.problem, u.attrs->>'label', v.detail
    FROM user_upsert.user_verify() v LEFT JOIN user_upsert.users u ON u.id = v.user_id
   ORDER BY 1, 2, 3 $$;

BEGIN;
UPDATE user_upsert.users SET fid = 9 WHERE attrs->>'label' = 'one';
SELECT * FROM pg_temp.problems();
ROLLBACK;

BEGIN;
DELETE FROM user_upsert.identities WHERE kind = 'agent';
SELECT * FROM pg_temp.problems();
ROLLBACK;

BEGIN;
UPDATE user_upsert.users SET primary_address = '0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb' WHERE attrs->>'label' = 'one';
SELECT * FROM pg_temp.problems();
ROLLBACK;

BEGIN;
INSERT INTO user_upsert.identities (kind, value, user_id, created_at)
  SELECT 'external', 'clerk:u2', id, now() FROM user_upsert.users WHERE attrs->>'label' = 'one';
SELECT * FROM pg_temp.problems();
ROLLBACK;

BEGIN;  -- identities left on a tombstone
UPDATE user_upsert.identities SET user_id = (SELECT id FROM user_upsert.users WHERE attrs->>'label' = 'three')
 WHERE kind = 'wallet' AND value = '0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359';
SELECT * FROM pg_temp.problems();
ROLLBACK;

BEGIN;  -- a tombstone keeping its mirrors
UPDATE user_upsert.users SET fid = 5 WHERE attrs->>'label' = 'three';
SELECT * FROM pg_temp.problems();
ROLLBACK;

BEGIN;  -- a merge chain that loops
UPDATE user_upsert.users SET merged_into = (SELECT id FROM user_upsert.users WHERE attrs->>'label' = 'three')
 WHERE attrs->>'label' = 'two';
SELECT * FROM pg_temp.problems();
ROLLBACK;

BEGIN;  -- values a load past the triggers left unnormalized, one per kind
INSERT INTO user_upsert.identities (kind, value, user_id, created_at)
  SELECT k, v, id, now() FROM user_upsert.users,
         (VALUES ('wallet', '0xDBF03B407C01E7CD3CBEA99509D93F8DDDC8C6FB'), ('external', 'GitHub:dan'),
                 ('fid', '007'), ('fid', '9223372036854775808'), ('agent', 'has space'),
                 ('wallet', ' 0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb')) AS bad(k, v)
   WHERE attrs->>'label' = 'two';
SELECT * FROM pg_temp.problems();
ROLLBACK;

BEGIN;
INSERT INTO user_upsert.blocked_identities VALUES ('agent', 'a1', 'test block');
UPDATE user_upsert.users SET version = 0 WHERE attrs->>'label' = 'two';
SELECT * FROM pg_temp.problems();
ROLLBACK;

RESET session_replication_role;
SELECT count(*) AS problems_after_rollback FROM user_upsert.user_verify();
-- Only superusers and the owner need it; PUBLIC may not run it.
SELECT has_function_privilege('public', 'user_upsert.user_verify()', 'execute') AS public_can_verify;

SET client_min_messages = warning;
DROP EXTENSION user_upsert CASCADE;
RESET client_min_messages;
