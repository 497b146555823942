-- Merges (DESIGN.md 4.4): two users, three users, chains, refusals, GUCs.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_upsert CASCADE;
RESET client_min_messages;
CREATE EXTENSION user_upsert;
-- Users named by a label in attrs, so outputs never show generated ids.
CREATE FUNCTION pg_temp.label(u uuid) RETURNS text LANGUAGE sql AS
  $$ SELECT attrs->>'label' FROM user_upsert.users WHERE id = u $$;
-- The action, or the error with its DETAIL, user ids replaced by labels.
CREATE FUNCTION pg_temp.try(p jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r jsonb; st text; msg text; det text; m text[];
BEGIN
  r := user_upsert.user_upsert(p);
  RETURN r->>'action';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
  FOR m IN SELECT regexp_matches(det, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', 'g') LOOP
    det := replace(det, m[1], coalesce(pg_temp.label(m[1]::uuid), '?'));
  END LOOP;
  RETURN st || ': ' || msg || E'\n  DETAIL: ' || det;
END $$;

-- Two users: a wallet-only user and a Farcaster user, created in that order.
SELECT user_upsert.user_upsert('{"wallets": ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"], "username": "wally", "email": "W@Example.com", "attrs": {"label": "W", "theme": "dark", "plan": "free"}}')->>'action';
SELECT pg_sleep(0.01);
SELECT user_upsert.user_upsert('{"fid": 3, "display_name": "Dan", "avatar_url": "https://a/x.png", "attrs": {"label": "F", "plan": "pro", "lang": "en"}, "observed_at": "2026-01-01T00:00:00Z"}')->>'action';
SELECT user_upsert.user_upsert('{"fid": 3, "wallets": ["0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"], "username": "dan"}') AS r \gset
SELECT (:'r'::jsonb)->>'action' AS action,
       pg_temp.label(((:'r'::jsonb)->'user'->>'id')::uuid) AS survivor,
       (SELECT array_agg(pg_temp.label(x::uuid)) FROM jsonb_array_elements_text((:'r'::jsonb)->'merged_ids') x) AS merged,
       (:'r'::jsonb)->'user'->'fid' AS fid,
       (:'r'::jsonb)->'user'->'wallets' AS wallets,
       (:'r'::jsonb)->'user'->>'primary_address' AS primary_address,
       (:'r'::jsonb)->'user'->>'username' AS username,
       (:'r'::jsonb)->'user'->>'display_name' AS display_name,
       (:'r'::jsonb)->'user'->>'email' AS email,
       (:'r'::jsonb)->'user'->'attrs' AS attrs,
       (:'r'::jsonb)->'user'->>'observed_at' AS observed_at,
       (:'r'::jsonb)->'user'->'version' AS version;
-- The loser is a tombstone: merged_into set, mirrors cleared, version bumped, no identities.
SELECT attrs->>'label' AS label, merged_into IS NOT NULL AS tombstone, fid, primary_address, agent_id, version
  FROM user_upsert.users ORDER BY created_at;
SELECT kind, value, pg_temp.label(user_id) FROM user_upsert.identities ORDER BY kind, value;
-- The audit row: moved identities, the loser's document before the merge, the payload.
SELECT pg_temp.label(survivor_id) AS survivor, snapshot->>'username' AS loser_username,
       snapshot->'wallets' AS loser_wallets, moved, payload->'fid' AS payload_fid, merged_at IS NOT NULL AS at
  FROM user_upsert.merges;

-- The survivor is the user the payload's id names, even when it is not the oldest.
SELECT user_upsert.user_upsert('{"agent_id": "agent-7", "attrs": {"label": "A"}}')->>'action';
SELECT user_upsert.user_upsert('{"external": {"clerk": "user_9"}, "attrs": {"label": "C"}}')->>'action';
SELECT id AS c_id FROM user_upsert.users WHERE attrs->>'label' = 'C' \gset
SELECT pg_temp.try(jsonb_build_object('id', :'c_id', 'agent_id', 'agent-7'));
SELECT attrs->>'label' AS label, pg_temp.label(merged_into) AS merged_into, agent_id, kind
  FROM user_upsert.users WHERE attrs->>'label' IN ('A', 'C') ORDER BY 1;

-- Three users at once, oldest first in merged_ids; the survivor is the oldest (W).
SELECT user_upsert.user_upsert('{"wallets": ["So11111111111111111111111111111111111111112"], "attrs": {"label": "S"}}')->>'action';
SELECT user_upsert.user_upsert('{"fid": 3, "agent_id": "agent-7", "wallets": ["So11111111111111111111111111111111111111112"]}') AS r \gset
SELECT (:'r'::jsonb)->>'action' AS action,
       pg_temp.label(((:'r'::jsonb)->'user'->>'id')::uuid) AS survivor,
       (SELECT array_agg(pg_temp.label(x::uuid)) FROM jsonb_array_elements_text((:'r'::jsonb)->'merged_ids') x) AS merged,
       (:'r'::jsonb)->'user'->'external' AS external,
       (:'r'::jsonb)->'user'->'wallets' AS wallets,
       (:'r'::jsonb)->'user'->>'agent_id' AS agent_id;

-- Chains: C was merged into W; an id naming C, and A (merged into C), reach W.
SELECT id AS a_id FROM user_upsert.users WHERE attrs->>'label' = 'A' \gset
SELECT pg_temp.label(((user_upsert.user_upsert(jsonb_build_object('id', :'a_id', 'display_name', 'Via chain')))->'user'->>'id')::uuid) AS reached;
SELECT display_name, version FROM user_upsert.users WHERE attrs->>'label' = 'W';
SELECT pg_temp.label((user_upsert.user_lookup('id', :'a_id')->>'id')::uuid) AS lookup_by_tombstone_id;
SELECT pg_temp.label((user_upsert.user_lookup('external', 'CLERK:user_9')->>'id')::uuid) AS lookup_by_external;
SELECT count(*) AS live_users FROM user_upsert.users WHERE merged_into IS NULL;

-- Refusals: nothing is written. Different fids:
SELECT user_upsert.user_upsert('{"fid": 4, "attrs": {"label": "G"}}')->>'action';
SELECT count(*) AS users_before, (SELECT count(*) FROM user_upsert.merges) AS merges_before FROM user_upsert.users \gset
SELECT pg_temp.try('{"fid": 4, "wallets": ["0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"]}');
-- Different agents and different subjects of one provider:
SELECT user_upsert.user_upsert('{"agent_id": "agent-8", "wallets": ["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"], "attrs": {"label": "H"}}')->>'action';
SELECT pg_temp.try('{"agent_id": "agent-8", "fid": 3}');
SELECT user_upsert.user_upsert('{"external": {"clerk": "user_other"}, "attrs": {"label": "K"}}')->>'action';
SELECT pg_temp.try('{"external": {"clerk": "user_other"}, "fid": 3}');
SELECT count(*) = :users_before + 2 AS only_two_inserts, (SELECT count(*) FROM user_upsert.merges) = :merges_before AS no_merge_written
  FROM user_upsert.users;

-- user_upsert.merge = off refuses; max_merge bounds how many users join.
SELECT user_upsert.user_upsert('{"wallets": ["0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"], "attrs": {"label": "M1"}}')->>'action';
SELECT user_upsert.user_upsert('{"wallets": ["0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"], "attrs": {"label": "M2"}}')->>'action';
SET user_upsert.merge = off;
SELECT pg_temp.try('{"wallets": ["0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"]}');
RESET user_upsert.merge;
SET user_upsert.max_merge = 2;
SELECT pg_temp.try('{"fid": 4, "wallets": ["0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"]}');
SELECT pg_temp.try('{"wallets": ["0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"]}');
RESET user_upsert.max_merge;
-- max_wallets counts the merged result.
SET user_upsert.max_wallets = 2;
SELECT pg_temp.try('{"wallets": ["0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}');
RESET user_upsert.max_wallets;
-- keep never merges: it returns the first owner in the order id, fid, external, agent, primary_address, wallets.
SELECT pg_temp.label(((user_upsert.user_upsert('{"policy": "keep", "wallets": ["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"], "fid": 4}'))->'user'->>'id')::uuid) AS keep_returns;
-- stale with several owners: nothing merged, the first owner answered.
SELECT user_upsert.user_upsert('{"observed_at": "2020-01-01T00:00:00Z", "fid": 3, "wallets": ["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}')->>'action' AS stale;

SELECT * FROM user_upsert.user_verify();

SET client_min_messages = warning;
DROP EXTENSION user_upsert CASCADE;
RESET client_min_messages;
