-- user_upsert() actions (DESIGN.md 4.2, 4.3, 4.5): inserted, updated,
-- unchanged and stale; the result document; versions; ids; primary
-- addresses; kinds; the one-per-user identities; max_wallets and the GUCs.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_upsert CASCADE;
DROP ROLE IF EXISTS uu_actions_app;
CREATE EXTENSION user_upsert;
RESET client_min_messages;

-- Every call goes through call(), which keeps its result in calls, so later
-- statements can compare versions and timestamps without printing them.
CREATE TEMP TABLE calls (n serial PRIMARY KEY, r jsonb NOT NULL);
-- Users get names; outputs show <name> instead of a generated uuid.
CREATE TEMP TABLE names (name text PRIMARY KEY, id uuid UNIQUE NOT NULL);
CREATE FUNCTION pg_temp.named(t text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	n record;
BEGIN
	FOR n IN SELECT * FROM names LOOP
		t := replace(t, n.id::text, '<' || n.name || '>');
	END LOOP;
	RETURN regexp_replace(t, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<unnamed>', 'g');
END $$;
CREATE FUNCTION pg_temp.call(p jsonb) RETURNS jsonb LANGUAGE sql AS $$
	INSERT INTO calls (r) VALUES (user_upsert.user_upsert(p)) RETURNING r
$$;
-- The last result, and the one before it.
CREATE FUNCTION pg_temp.last(back int DEFAULT 0) RETURNS jsonb LANGUAGE sql AS $$
	SELECT r FROM calls ORDER BY n DESC OFFSET back LIMIT 1
$$;
CREATE FUNCTION pg_temp.try(p jsonb, OUT state text, OUT message text, OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
	message := pg_temp.call(p)->>'action';
	state := 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
	                        detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
	message := pg_temp.named(message);
	detail := pg_temp.named(nullif(detail, ''));
	hint := nullif(hint, '');
END $$;
-- The users row a result document shows.
CREATE FUNCTION pg_temp.row_of(r jsonb) RETURNS jsonb LANGUAGE sql
AS $$ SELECT (r->'user') - 'wallets'::text - 'external'::text $$;
-- A compact view of a result: who it is about and its identity columns.
CREATE FUNCTION pg_temp.brief(r jsonb, OUT action text, OUT who text, OUT version bigint, OUT kind text,
                              OUT fid bigint, OUT primary_address text, OUT wallets jsonb, OUT external jsonb)
LANGUAGE sql AS $$
	SELECT r->>'action', coalesce((SELECT '<' || name || '>' FROM names WHERE id = (r->'user'->>'id')::uuid), 'new'),
	       (r->'user'->>'version')::bigint, r->'user'->>'kind', (r->'user'->>'fid')::bigint,
	       r->'user'->>'primary_address', r->'user'->'wallets', r->'user'->'external'
$$;

-- 1. inserted: the result document holds every users column, plus wallets
-- (byte order) and external ({provider: subject}).
SELECT * FROM pg_temp.brief(pg_temp.call('{
    "fid": 10,
    "wallets": ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "So11111111111111111111111111111111111111112"],
    "external": {"Clerk": "user_alice"},
    "email": "Alice@Example.COM", "username": "alice", "display_name": null,
    "attrs": {"plan": "pro", "tags": ["a", "b"]}}'));
INSERT INTO names SELECT 'alice', (pg_temp.last()->'user'->>'id')::uuid;
SELECT string_agg(k, ', ' ORDER BY k) AS document_keys FROM jsonb_object_keys(pg_temp.last()->'user') AS k;
SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(pg_temp.last()->'user') AS k)
     = (SELECT array_agg(c ORDER BY c) FROM (SELECT column_name::text FROM information_schema.columns
                                              WHERE table_schema = 'user_upsert' AND table_name = 'users'
                                             UNION ALL VALUES ('wallets'), ('external')) AS cols(c))
       AS keys_are_columns_plus_wallets_external,
       (SELECT array_agg(k) FROM jsonb_object_keys(pg_temp.last()) AS k) AS result_keys;
-- the document is the stored row, identities are the identities rows
SELECT pg_temp.row_of(pg_temp.last()) = to_jsonb(u) AS document_is_row,
       u.version = 1 AS version_1, u.created_at = u.updated_at AS created_is_updated,
       u.observed_at IS NULL AS no_observed_at,
       u.merged_into IS NULL AND u.deleted_at IS NULL AS live,
       u.email, u.username, u.display_name, u.avatar_url, u.attrs
  FROM user_upsert.users u WHERE u.id = (SELECT id FROM names WHERE name = 'alice');
SELECT i.kind, i.value, i.user_id = u.id AS alices, i.created_at = u.created_at AS linked_with_insert
  FROM user_upsert.identities i, user_upsert.users u
 WHERE u.id = (SELECT id FROM names WHERE name = 'alice') ORDER BY i.kind, i.value;

-- 2. updated: one write adds exactly 1 to version and moves updated_at.
SELECT xmin AS alice_xmin, updated_at AS alice_updated_at FROM user_upsert.users
 WHERE id = (SELECT id FROM names WHERE name = 'alice') \gset
SELECT * FROM pg_temp.brief(pg_temp.call('{"fid": 10, "display_name": "Alice A."}'));
SELECT u.version, u.display_name, u.xmin::text <> :'alice_xmin' AS row_written,
       u.updated_at > :'alice_updated_at' AS updated_at_moved, u.created_at < u.updated_at AS created_at_kept,
       pg_temp.row_of(pg_temp.last()) = to_jsonb(u) AS document_is_row
  FROM user_upsert.users u WHERE u.id = (SELECT id FROM names WHERE name = 'alice');

-- 3. unchanged: nothing would change, so nothing is written at all (same
-- xmin, version and updated_at), whichever identity reaches the user and
-- however its values are spelled.
SELECT xmin AS alice_xmin, updated_at AS alice_updated_at FROM user_upsert.users
 WHERE id = (SELECT id FROM names WHERE name = 'alice') \gset
SELECT count(*) AS identities_before FROM user_upsert.identities \gset
SELECT c.payload, b.action, b.who, b.version
  FROM (VALUES (1, '{"fid": 10}'),
               (2, '{"fid": "10", "display_name": "Alice A."}'),
               (3, '{"wallets": ["0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED"], "email": " alice@example.com "}'),
               (4, '{"external": {"CLERK": "user_alice"}, "username": "alice", "attrs": {}}'),
               (5, '{"external": {"clerk": "user_alice"}, "attrs": {"plan": "pro", "gone": null}}'),
               (6, '{"wallets": ["So11111111111111111111111111111111111111112"], "primary_address": "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"}'),
               (7, '{"fid": 10, "kind": "human", "avatar_url": null, "policy": "fill", "username": "someone else"}'),
               (8, '{"fid": 10, "agent_id": "not-linked", "policy": "keep"}')) AS c(n, payload)
 CROSS JOIN LATERAL pg_temp.call(c.payload::jsonb) AS r
 CROSS JOIN LATERAL pg_temp.brief(r) b
 ORDER BY c.n;
SELECT u.xmin::text = :'alice_xmin' AS same_row_version, u.version, u.updated_at = :'alice_updated_at' AS same_updated_at,
       (SELECT count(*) FROM user_upsert.identities) = :identities_before AS no_identity_written,
       (SELECT bool_and(pg_temp.row_of(r) = to_jsonb(u)) FROM calls WHERE n > (SELECT max(n) - 8 FROM calls))
           AS documents_are_row
  FROM user_upsert.users u WHERE u.id = (SELECT id FROM names WHERE name = 'alice');

-- 4. id: a new row takes the id that names no row; the id reaches its user.
SELECT * FROM pg_temp.brief(pg_temp.call('{"id": "00000000-0000-4000-8000-0000000000b0", "agent_id": "bob-bot"}'));
INSERT INTO names VALUES ('bob', '00000000-0000-4000-8000-0000000000b0');
SELECT id, kind, agent_id, version FROM user_upsert.users WHERE id = '00000000-0000-4000-8000-0000000000b0';
SELECT c.payload, b.action, b.who, b.version, b.fid
  FROM (VALUES (1, '{"id": "00000000-0000-4000-8000-0000000000B0"}'),
               (2, '{"id": " 00000000-0000-4000-8000-0000000000b0 ", "agent_id": "bob-bot"}'),
               (3, '{"id": "00000000-0000-4000-8000-0000000000b0", "fid": 20}')) AS c(n, payload)
 CROSS JOIN LATERAL pg_temp.call(c.payload::jsonb) AS r
 CROSS JOIN LATERAL pg_temp.brief(r) b
 ORDER BY c.n;
-- an id naming no row while the identities belong to a user: UU001 under every policy
SELECT p.policy, t.state || ': ' || t.message AS result, t.detail, t.hint
  FROM (VALUES ('merge'), ('fill'), ('keep')) AS p(policy)
 CROSS JOIN LATERAL pg_temp.try(jsonb_build_object('id', '00000000-0000-4000-8000-0000000000ff', 'fid', 20,
                                                   'policy', p.policy)) t;
SELECT count(*) AS rows_with_that_id FROM user_upsert.users WHERE id = '00000000-0000-4000-8000-0000000000ff';
-- under keep, several owners are not merged: the owner reached first (id,
-- fid, external, agent, primary_address, wallets) is returned unchanged
SELECT c.payload, b.action, b.who, b.version
  FROM (VALUES (1, '{"id": "00000000-0000-4000-8000-0000000000b0", "fid": 10, "policy": "keep"}'),
               (2, '{"wallets": ["0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"], "agent_id": "bob-bot", "policy": "keep"}'),
               (3, '{"agent_id": "bob-bot", "external": {"clerk": "user_alice"}, "policy": "keep"}'),
               (4, '{"fid": 20, "external": {"clerk": "user_alice"}, "policy": "keep"}')) AS c(n, payload)
 CROSS JOIN LATERAL pg_temp.call(c.payload::jsonb) AS r
 CROSS JOIN LATERAL pg_temp.brief(r) b
 ORDER BY c.n;
-- external goes by provider name; primary_address before wallets, wallets in payload order
SELECT * FROM pg_temp.brief(pg_temp.call('{"external": {"Aaa": "ivan"}, "wallets": ["0xcccccccccccccccccccccccccccccccccccccccc"]}'));
INSERT INTO names SELECT 'ivan', (pg_temp.last()->'user'->>'id')::uuid;
SELECT c.payload, b.action, b.who, b.version
  FROM (VALUES (1, '{"external": {"clerk": "user_alice", "aaa": "ivan"}, "policy": "keep"}'),
               (2, '{"external": {"clerk": "user_alice", "AAA": "ivan"}, "policy": "keep"}'),
               (3, '{"wallets": ["So11111111111111111111111111111111111111112", "0xcccccccccccccccccccccccccccccccccccccccc"], "policy": "keep"}'),
               (4, '{"wallets": ["0xcccccccccccccccccccccccccccccccccccccccc", "So11111111111111111111111111111111111111112"], "policy": "keep"}'),
               (5, '{"wallets": ["0xcccccccccccccccccccccccccccccccccccccccc"], "primary_address": "So11111111111111111111111111111111111111112", "policy": "keep"}')) AS c(n, payload)
 CROSS JOIN LATERAL pg_temp.call(c.payload::jsonb) AS r
 CROSS JOIN LATERAL pg_temp.brief(r) b
 ORDER BY c.n;
SELECT name, version FROM names JOIN user_upsert.users u USING (id) ORDER BY name;

-- 5. A tombstone resolves to its survivor, through chains. The chain
-- c2 -> c1 -> bob is written directly, with the triggers off.
SET session_replication_role = replica;
INSERT INTO user_upsert.users (id, version) VALUES
    ('00000000-0000-4000-8000-0000000000c1', 2), ('00000000-0000-4000-8000-0000000000c2', 2);
UPDATE user_upsert.users SET merged_into = '00000000-0000-4000-8000-0000000000b0'
 WHERE id = '00000000-0000-4000-8000-0000000000c1';
UPDATE user_upsert.users SET merged_into = '00000000-0000-4000-8000-0000000000c1'
 WHERE id = '00000000-0000-4000-8000-0000000000c2';
RESET session_replication_role;
SELECT c.payload, b.action, b.who, b.version, r->'user'->>'username' AS username
  FROM (VALUES (1, '{"id": "00000000-0000-4000-8000-0000000000c1", "username": "bob"}'),
               (2, '{"id": "00000000-0000-4000-8000-0000000000c2", "username": "bob"}')) AS c(n, payload)
 CROSS JOIN LATERAL pg_temp.call(c.payload::jsonb) AS r
 CROSS JOIN LATERAL pg_temp.brief(r) b
 ORDER BY c.n;
SELECT id, version, username, merged_into FROM user_upsert.users
 WHERE id::text LIKE '00000000-0000-4000-8000-0000000000c%' ORDER BY id;

-- 6. stale: an older observed_at (ISO text or epoch ms) writes nothing, not
-- even a new identity; an equal one applies; a newer one alone is a change.
SELECT * FROM pg_temp.brief(pg_temp.call('{"fid": 30, "username": "carol", "observed_at": "2026-01-01T12:00:00Z"}'));
INSERT INTO names SELECT 'carol', (pg_temp.last()->'user'->>'id')::uuid;
SELECT observed_at = '2026-01-01T12:00:00Z' AS observed_at_stored FROM user_upsert.users WHERE fid = 30;
SELECT xmin AS carol_xmin FROM user_upsert.users WHERE fid = 30 \gset
SELECT c.note, b.action, b.who, b.version, b.wallets, r->'user'->>'username' AS username
  FROM (VALUES (1, 'older, ISO',      '{"fid": 30, "username": "x", "observed_at": "2026-01-01T11:59:59.999999Z"}'),
               (2, 'older, offset',   '{"fid": 30, "username": "x", "observed_at": "2026-01-01T12:30:00+01:00"}'),
               (3, 'older, epoch ms', '{"fid": 30, "username": "x", "observed_at": 1767268799999}'),
               (4, 'older, new wallet', '{"fid": 30, "wallets": ["0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"], "observed_at": "2025-12-31T00:00:00Z"}'),
               (5, 'older, keep',     '{"fid": 30, "observed_at": "2025-01-01T00:00:00Z", "policy": "keep"}'),
               (6, 'older, fill',     '{"fid": 30, "observed_at": "2025-01-01T00:00:00Z", "policy": "fill", "email": "c@x.y"}')) AS c(n, note, payload)
 CROSS JOIN LATERAL pg_temp.call(c.payload::jsonb) AS r
 CROSS JOIN LATERAL pg_temp.brief(r) b
 ORDER BY c.n;
SELECT xmin::text = :'carol_xmin' AS nothing_written, version, username, email FROM user_upsert.users WHERE fid = 30;
SELECT count(*) AS stale_wallet_linked FROM user_upsert.identities
 WHERE value = '0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359';
SELECT c.note, b.action, b.version, r->'user'->>'username' AS username,
       (r->'user'->>'observed_at')::timestamptz AT TIME ZONE 'UTC' AS observed_at_utc
  FROM (VALUES (1, 'equal, ISO offset',     '{"fid": 30, "username": "carol2", "observed_at": "2026-01-01T13:00:00+01:00"}'),
               (2, 'equal, epoch ms',       '{"fid": 30, "username": "carol3", "observed_at": 1767268800000}'),
               (3, 'equal, nothing else',   '{"fid": 30, "observed_at": "2026-01-01T12:00:00.000Z"}'),
               (4, 'newer alone',           '{"fid": 30, "observed_at": "2026-01-01T12:00:00.000001Z"}'),
               (5, 'newer alone, epoch ms', '{"fid": 30, "observed_at": 1767268801000}'),
               (6, 'newer alone, fill',     '{"fid": 30, "observed_at": "2026-01-02T00:00:00Z", "policy": "fill"}'),
               (7, 'newer alone, keep',     '{"fid": 30, "observed_at": "2026-01-03T00:00:00Z", "policy": "keep"}'),
               (8, 'absent',                '{"fid": 30, "username": "carol4"}'),
               (9, 'older again',           '{"fid": 30, "username": "x", "observed_at": "2026-01-01T23:59:59Z"}')) AS c(n, note, payload)
 CROSS JOIN LATERAL pg_temp.call(c.payload::jsonb) AS r
 CROSS JOIN LATERAL pg_temp.brief(r) b
 ORDER BY c.n;
-- a user without observed_at accepts any observed_at, and stores it
SELECT b.action, b.version, (r->'user'->>'observed_at')::timestamptz = '1970-01-01T00:00:00.001Z' AS stored
  FROM pg_temp.call('{"id": "00000000-0000-4000-8000-0000000000b0", "observed_at": 1}') AS r
 CROSS JOIN LATERAL pg_temp.brief(r) b;
-- stale with several owners (a payload that would otherwise merge) carries the first owner
SELECT b.action, b.who, b.version
  FROM pg_temp.brief(pg_temp.call('{"agent_id": "bob-bot", "fid": 30, "observed_at": "2020-01-01T00:00:00Z"}')) b;

-- 7. Primary addresses. A user without one that gains wallets gets the
-- first of them (payload order); primary_address is added to wallets;
-- clearing it (merge, null) keeps the wallet linked.
SELECT * FROM pg_temp.brief(pg_temp.call('{"fid": 40}'));
INSERT INTO names SELECT 'dave', (pg_temp.last()->'user'->>'id')::uuid;
SELECT c.payload, b.action, b.version, b.primary_address, b.wallets
  FROM (VALUES (1, '{"fid": 40, "wallets": ["0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359", "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"]}'),
               (2, '{"fid": 40, "primary_address": "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"}'),
               (3, '{"fid": 40, "primary_address": "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"}'),
               (4, '{"fid": 40, "primary_address": null}'),
               (5, '{"fid": 40, "primary_address": null}'),
               (6, '{"fid": 40, "wallets": ["0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb", "11111111111111111111111111111111"]}'),
               (7, '{"fid": 40, "primary_address": "0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb", "policy": "fill"}')) AS c(n, payload)
 CROSS JOIN LATERAL pg_temp.call(c.payload::jsonb) AS r
 CROSS JOIN LATERAL pg_temp.brief(r) b
 ORDER BY c.n;
-- a new user: primary_address given, or the first wallet
SELECT c.payload, b.action, b.primary_address, b.wallets
  FROM (VALUES (1, '{"wallets": ["0x52908400098527886E0F7030069857D2E4169EE7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D"]}'),
               (2, '{"primary_address": "0xde709f2102306220921060314715629080e2fb77", "wallets": ["0x27b1fdb04752bbc536007a920d24acb045561c26"]}'),
               (3, '{"agent_id": "no-wallets"}')) AS c(n, payload)
 CROSS JOIN LATERAL pg_temp.call(c.payload::jsonb) AS r
 CROSS JOIN LATERAL pg_temp.brief(r) b
 ORDER BY c.n;
-- users.primary_address is always one of the user's wallets
SELECT count(*) AS primary_not_a_wallet FROM user_upsert.users u
 WHERE u.primary_address IS NOT NULL
   AND NOT EXISTS (SELECT FROM user_upsert.identities i
                    WHERE i.kind = 'wallet' AND i.value = u.primary_address AND i.user_id = u.id);

-- 8. Kinds: a new user with agent_id is an agent unless kind says
-- otherwise; linking an agent_id does not change an existing user's kind.
SELECT c.payload, b.action, b.kind
  FROM (VALUES (1, '{"agent_id": "eve-bot"}'),
               (2, '{"agent_id": "frank-bot", "kind": "human"}'),
               (3, '{"fid": 50, "kind": "agent"}'),
               (4, '{"fid": 51}'),
               (5, '{"fid": 51, "agent_id": "grace-bot"}'),
               (6, '{"fid": 51, "kind": "agent"}'),
               (7, '{"agent_id": "grace-bot", "kind": "human"}')) AS c(n, payload)
 CROSS JOIN LATERAL pg_temp.call(c.payload::jsonb) AS r
 CROSS JOIN LATERAL pg_temp.brief(r) b
 ORDER BY c.n;

-- 9. One fid, one agent_id, one subject per provider per user: UU001 under
-- merge and fill (nothing written), ignored under keep.
SELECT c.payload, t.state || ': ' || t.message AS result, t.detail
  FROM (VALUES (1, '{"external": {"clerk": "user_alice"}, "fid": 11}'),
               (2, '{"external": {"clerk": "user_alice"}, "fid": 11, "policy": "fill"}'),
               (3, '{"external": {"clerk": "user_alice"}, "fid": 11, "policy": "keep"}'),
               (4, '{"id": "00000000-0000-4000-8000-0000000000b0", "agent_id": "bob-bot-2"}'),
               (5, '{"fid": 20, "agent_id": "bob-bot-2", "policy": "fill"}'),
               (6, '{"fid": 10, "external": {"Clerk": "user_alice2"}}'),
               (7, '{"fid": 10, "external": {"clerk": "user_alice2"}, "policy": "fill"}'),
               (8, '{"fid": 10, "external": {"clerk": "user_alice2"}, "policy": "keep"}'),
               (9, '{"fid": 10, "external": {"github": "alice"}, "agent_id": "alice-bot"}')) AS c(n, payload)
 CROSS JOIN LATERAL pg_temp.try(c.payload::jsonb) t
 ORDER BY c.n;
SELECT kind, value, pg_temp.named(user_id::text) AS owner FROM user_upsert.identities
 WHERE user_id IN (SELECT id FROM names WHERE name IN ('alice', 'bob')) ORDER BY owner, kind, value;
SELECT name, u.version, u.fid, u.agent_id FROM names JOIN user_upsert.users u USING (id)
 WHERE name IN ('alice', 'bob') ORDER BY name;

-- 10. max_wallets (superuser setting) limits the payload (22023) and the
-- resulting user (UU001). Distinct normalized wallets are counted.
SET user_upsert.max_wallets = 3;
SHOW user_upsert.max_wallets;
SELECT c.payload, t.state || ': ' || t.message AS result, t.detail
  FROM (VALUES (1, '{"fid": 60, "wallets": ["0x0000000000000000000000000000000000000001", "0x0000000000000000000000000000000000000002", "0x0000000000000000000000000000000000000003", "0x0000000000000000000000000000000000000004"]}'),
               (2, '{"fid": 60, "wallets": ["0x0000000000000000000000000000000000000001", "0x0000000000000000000000000000000000000002", "0x0000000000000000000000000000000000000003"], "primary_address": "0x0000000000000000000000000000000000000004"}')) AS c(n, payload)
 CROSS JOIN LATERAL pg_temp.try(c.payload::jsonb) t
 ORDER BY c.n;
SELECT * FROM pg_temp.brief(pg_temp.call('{"fid": 60, "wallets": ["0x0000000000000000000000000000000000000001", "0x0000000000000000000000000000000000000002", " 0x0000000000000000000000000000000000000001"], "primary_address": "0x0000000000000000000000000000000000000002"}'));
INSERT INTO names SELECT 'heidi', (pg_temp.last()->'user'->>'id')::uuid;
SELECT c.payload, t.state || ': ' || t.message AS result, t.detail
  FROM (VALUES (1, '{"fid": 60, "wallets": ["0x0000000000000000000000000000000000000003"]}'),
               (2, '{"fid": 60, "wallets": ["0x0000000000000000000000000000000000000004"]}'),
               (3, '{"fid": 60, "wallets": ["0x0000000000000000000000000000000000000004"], "policy": "fill"}'),
               (4, '{"fid": 60, "wallets": ["0x0000000000000000000000000000000000000004"], "policy": "keep"}'),
               (5, '{"fid": 60, "primary_address": "0x0000000000000000000000000000000000000004"}'),
               (6, '{"fid": 60, "wallets": ["0x0000000000000000000000000000000000000001", "0x0000000000000000000000000000000000000002", "0x0000000000000000000000000000000000000003"]}')) AS c(n, payload)
 CROSS JOIN LATERAL pg_temp.try(c.payload::jsonb) t
 ORDER BY c.n;
SELECT u.version, u.primary_address, array_agg(i.value ORDER BY i.value) AS wallets
  FROM user_upsert.users u JOIN user_upsert.identities i ON i.user_id = u.id AND i.kind = 'wallet'
 WHERE u.fid = 60 GROUP BY u.version, u.primary_address;
RESET user_upsert.max_wallets;
SELECT t.state || ': ' || t.message AS result
  FROM pg_temp.try('{"fid": 60, "wallets": ["0x0000000000000000000000000000000000000004"]}') t;

-- 11. Setting contexts (DESIGN.md section 8): the limits are superuser-only.
SELECT name, setting, context, vartype, min_val, max_val FROM pg_settings
 WHERE name LIKE 'user_upsert.%' ORDER BY name;
SET user_upsert.max_wallets = 0;
SET user_upsert.max_merge = 1;
SET user_upsert.no_such_setting = 1;
CREATE ROLE uu_actions_app;
SET ROLE uu_actions_app;
SET user_upsert.max_wallets = 3;
SET user_upsert.max_merge = 10;
SET user_upsert.merge = off;
SET user_upsert.direct_conflict = merge;
SHOW user_upsert.direct_conflict;
SET user_upsert.direct_conflict = ignore;
RESET user_upsert.direct_conflict;
SELECT current_setting('user_upsert.max_wallets') AS max_wallets, current_setting('user_upsert.merge') AS merge;
RESET ROLE;
DROP ROLE uu_actions_app;

-- Every write added exactly 1 to the version: versions of a user returned
-- by successive calls only ever grow by 0 or 1, and by 1 exactly when the
-- action wrote (inserted or updated).
SELECT count(*) AS calls,
       count(*) FILTER (WHERE step NOT IN (0, 1)) AS bad_steps,
       count(*) FILTER (WHERE (step = 1) <> (action = 'updated')) AS step_action_mismatch
  FROM (SELECT r->>'action' AS action,
               (r->'user'->>'version')::bigint
               - lag((r->'user'->>'version')::bigint) OVER (PARTITION BY r->'user'->>'id' ORDER BY n) AS step
          FROM calls) s
 WHERE step IS NOT NULL;
SELECT count(*) FILTER (WHERE r->>'action' = 'inserted' AND (r->'user'->>'version')::bigint <> 1) AS inserted_not_v1
  FROM calls;

SET client_min_messages = warning;
DROP EXTENSION user_upsert CASCADE;
RESET client_min_messages;
