-- The policies of DESIGN.md 4.3, field by field: merge (the default), fill
-- and keep, for a field absent from the payload, given as null, or given a
-- value, on a user whose stored value is null or set.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_upsert CASCADE;
CREATE EXTENSION user_upsert;
RESET client_min_messages;

CREATE TEMP SEQUENCE cases;
CREATE FUNCTION pg_temp.row_of(r jsonb) RETURNS jsonb LANGUAGE sql
AS $$ SELECT (r->'user') - 'wallets'::text - 'external'::text $$;
-- Wallets are identities, so each case gets its own: "OLD" and "NEW" stand
-- for two wallets of the current case (their last digit says which).
CREATE FUNCTION pg_temp.wallet_for(v jsonb) RETURNS jsonb LANGUAGE sql AS $$
	SELECT CASE WHEN v IN ('"OLD"', '"NEW"')
	            THEN to_jsonb('0x' || lpad(currval('cases')::text, 39, '0') || CASE WHEN v = '"OLD"' THEN '1' ELSE '2' END)
	            ELSE v END
$$;
CREATE FUNCTION pg_temp.wallet_name(w text) RETURNS text LANGUAGE sql AS $$
	SELECT CASE WHEN w IS NULL THEN 'NULL' WHEN w LIKE '%1' THEN 'OLD' WHEN w LIKE '%2' THEN 'NEW' ELSE w END
$$;
-- Creates a user holding `stored` in `field` (nothing when stored is SQL
-- NULL), then sends `given` for that field (absent when SQL NULL) under
-- `policy`. Returns the second call's result, after checking that its
-- document is the stored row.
CREATE FUNCTION pg_temp.apply(field text, stored jsonb, given jsonb, policy text, extra jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	who jsonb := jsonb_build_object('external', jsonb_build_object('case', 'c' || nextval('cases')));
	payload jsonb;
	r jsonb;
	ok boolean;
BEGIN
	IF field = 'primary_address' THEN
		stored := pg_temp.wallet_for(stored);
		given := pg_temp.wallet_for(given);
	END IF;
	PERFORM user_upsert.user_upsert(who || CASE WHEN stored IS NULL THEN '{}' ELSE jsonb_build_object(field, stored) END);
	payload := who || jsonb_build_object('policy', policy) || (extra - 'external')
	           || CASE WHEN given IS NULL THEN '{}' ELSE jsonb_build_object(field, given) END;
	IF extra ? 'external' THEN
		payload := jsonb_set(payload, '{external}', (who->'external') || (extra->'external'));
	END IF;
	r := user_upsert.user_upsert(payload);
	SELECT pg_temp.row_of(r) = to_jsonb(u) INTO ok FROM user_upsert.users u WHERE u.id = (r->'user'->>'id')::uuid;
	IF NOT ok THEN
		RAISE EXCEPTION 'result document differs from the stored row: %', r;
	END IF;
	RETURN r;
END $$;
-- "action: value" of the field after the call, or the error.
CREATE FUNCTION pg_temp.outcome(field text, stored jsonb, given jsonb, policy text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	r jsonb;
BEGIN
	r := pg_temp.apply(field, stored, given, policy);
	IF field = 'primary_address' THEN
		RETURN (r->>'action') || ': ' || pg_temp.wallet_name(r->'user'->>field) || ', wallets '
		       || coalesce((SELECT string_agg(pg_temp.wallet_name(w), ' ' ORDER BY w)
		                      FROM jsonb_array_elements_text(r->'user'->'wallets') AS w), '-');
	END IF;
	RETURN (r->>'action') || ': ' || coalesce(r->'user'->>field, 'NULL');
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- 1. Text fields and primary_address.
SELECT f.field, s.label AS stored, g.label AS given,
       pg_temp.outcome(f.field, s.val, g.val, 'merge') AS merge,
       pg_temp.outcome(f.field, s.val, g.val, 'fill') AS fill,
       pg_temp.outcome(f.field, s.val, g.val, 'keep') AS keep
  FROM (VALUES (1, 'email', '"old@example.com"'::jsonb, '" New@Example.COM "'::jsonb),
               (2, 'username', '"old"', '"new"'),
               (3, 'display_name', '"Old Name"', '"New Name"'),
               (4, 'avatar_url', '"https://img.example/old.png"', '"https://img.example/new.png"'),
               (5, 'primary_address', '"OLD"', '"NEW"')) AS f(n, field, old, new)
 CROSS JOIN LATERAL (VALUES (1, 'null', NULL), (2, 'value', f.old)) AS s(n, label, val)
 CROSS JOIN LATERAL (VALUES (1, 'absent', NULL), (2, 'null', 'null'::jsonb), (3, 'value', f.new)) AS g(n, label, val)
 ORDER BY f.n, s.n, g.n;
-- the same value again is no change under any policy
SELECT f.field, pg_temp.outcome(f.field, f.v, f.v, 'merge') AS merge, pg_temp.outcome(f.field, f.v, f.v, 'fill') AS fill
  FROM (VALUES ('email', '"a@example.com"'::jsonb), ('username', '"same"'), ('display_name', '""'),
               ('primary_address', '"OLD"')) AS f(field, v);

-- 2. kind: set under merge only; null is refused under every policy.
SELECT s.label AS stored, g.label AS given,
       pg_temp.outcome('kind', s.val, g.val, 'merge') AS merge,
       pg_temp.outcome('kind', s.val, g.val, 'fill') AS fill,
       pg_temp.outcome('kind', s.val, g.val, 'keep') AS keep
  FROM (VALUES (1, 'default', NULL), (2, 'agent', '"agent"'::jsonb)) AS s(n, label, val)
 CROSS JOIN (VALUES (1, 'absent', NULL), (2, '"human"', '"human"'::jsonb), (3, '"agent"', '"agent"'),
                    (4, 'null', 'null')) AS g(n, label, val)
 ORDER BY s.n, g.n;

-- 3. attrs: RFC 7386 merge patch under merge (null resets to {}); under
-- fill only top-level keys the stored attrs lack are added, nulls skipped.
SELECT g.given,
       (SELECT r->>'action' || ': ' || (r->'user'->'attrs')::text
          FROM pg_temp.apply('attrs', s.attrs, g.given::jsonb, 'merge') AS r) AS merge,
       (SELECT r->>'action' || ': ' || (r->'user'->'attrs')::text
          FROM pg_temp.apply('attrs', s.attrs, g.given::jsonb, 'fill') AS r) AS fill,
       (SELECT r->>'action' || ': ' || (r->'user'->'attrs')::text
          FROM pg_temp.apply('attrs', s.attrs, g.given::jsonb, 'keep') AS r) AS keep
  FROM (VALUES ('{"a": 1, "b": {"c": 2, "d": 3}, "t": ["p", "q"]}'::jsonb)) AS s(attrs)
 CROSS JOIN (VALUES (1, NULL), (2, 'null'), (3, '{}'), (4, '{"a": 1}'), (5, '{"a": 2}'), (6, '{"a": null}'),
                    (7, '{"x": null}'), (8, '{"x": 1, "a": null}'), (9, '{"b": {"c": null}}'),
                    (10, '{"b": {"e": 4}}'), (11, '{"b": {"c": 2}}'), (12, '{"b": 5}'), (13, '{"b": null}'),
                    (14, '{"t": ["r"]}'), (15, '{"x": {"y": {"z": 1}}}'), (16, '{"a": [1, null]}'),
                    (17, '{"A": 9}')) AS g(n, given)
 ORDER BY g.n;
-- under merge, nulls nested in a new value are dropped too (RFC 7386)
SELECT r->>'action' AS action, r->'user'->'attrs' AS attrs
  FROM pg_temp.apply('attrs', '{"a": 1}', '{"x": {"y": null, "z": 1}}', 'merge') AS r;
-- stored attrs empty
SELECT g.given,
       (SELECT r->>'action' || ': ' || (r->'user'->'attrs')::text
          FROM pg_temp.apply('attrs', NULL, g.given::jsonb, 'merge') AS r) AS merge,
       (SELECT r->>'action' || ': ' || (r->'user'->'attrs')::text
          FROM pg_temp.apply('attrs', NULL, g.given::jsonb, 'fill') AS r) AS fill
  FROM (VALUES (1, 'null'), (2, '{}'), (3, '{"a": null, "b": 1}'), (4, '{"b": {"c": 1}}')) AS g(n, given)
 ORDER BY g.n;

-- 4. New identities: linked under merge and fill, not under keep.
CREATE TEMP TABLE linked AS
SELECT p.n, p.policy, r
  FROM (VALUES (1, 'merge'), (2, 'fill'), (3, 'keep')) AS p(n, policy)
 CROSS JOIN LATERAL pg_temp.apply('username', NULL, NULL, p.policy,
        jsonb_build_object('fid', 100 + p.n, 'agent_id', 'agent-' || p.policy,
                           'wallets', jsonb_build_array('0x' || repeat(p.n::text, 40)),
                           'external', jsonb_build_object('github', 'gh-' || p.policy))) AS r;
SELECT l.policy, r->>'action' AS action, r->'user'->'fid' AS fid, r->'user'->'agent_id' AS agent_id,
       r->'user'->'primary_address' AS primary_address, r->'user'->'wallets' AS wallets,
       (r->'user'->'external') - 'case'::text AS external,
       (SELECT string_agg(i.kind, ', ' ORDER BY i.kind) FROM user_upsert.identities i
         WHERE i.user_id = (r->'user'->>'id')::uuid) AS identities
  FROM linked l ORDER BY l.n;
-- the identities keep did not link are free for another user
SELECT r->>'action' AS action, r->'user'->'fid' AS fid, r->'user'->'agent_id' AS agent_id,
       r->'user'->'wallets' AS wallets, r->'user'->'external' AS external
  FROM user_upsert.user_upsert('{"fid": 103, "agent_id": "agent-keep", "external": {"github": "gh-keep"},
                                 "wallets": ["0x3333333333333333333333333333333333333333"]}') AS r;

-- 5. observed_at: stored when newer under merge and fill, not under keep.
SELECT p.policy, r->>'action' AS action,
       (r->'user'->>'observed_at')::timestamptz = '2026-06-01T00:00:00Z' AS newer_stored
  FROM (VALUES (1, 'merge'), (2, 'fill'), (3, 'keep')) AS p(n, policy)
 CROSS JOIN LATERAL pg_temp.apply('observed_at', '"2026-01-01T00:00:00Z"', '"2026-06-01T00:00:00Z"', p.policy) AS r
 ORDER BY p.n;

-- 6. keep on a new user creates it with every field of the payload; so do
-- merge and fill (fill skips attrs nulls, merge applies them as a patch to {}).
CREATE TEMP TABLE new_users AS
SELECT p.n, p.policy, r
  FROM (VALUES (1, 'keep'), (2, 'fill'), (3, 'merge')) AS p(n, policy)
 CROSS JOIN LATERAL user_upsert.user_upsert(jsonb_build_object(
        'policy', p.policy, 'fid', 200 + p.n, 'kind', 'human', 'agent_id', 'new-' || p.policy,
        'wallets', jsonb_build_array('0x' || repeat('a', 39) || p.n, '0x' || repeat('b', 39) || p.n),
        'primary_address', '0x' || repeat('b', 39) || p.n,
        'external', jsonb_build_object('Clerk', 'user_' || p.policy),
        'email', 'New.User@Example.com', 'username', 'new_' || p.policy, 'display_name', 'New User',
        'avatar_url', 'https://img.example/u.png', 'attrs', '{"plan": "free", "none": null}'::jsonb,
        'observed_at', '2026-01-01T00:00:00Z')) AS r;
SELECT n.policy, r->>'action' AS action, u.kind, u.fid, u.primary_address, u.agent_id, u.email, u.username,
       u.display_name, u.avatar_url, u.attrs, u.observed_at = '2026-01-01T00:00:00Z' AS observed_at_stored,
       u.version, r->'user'->'wallets' AS wallets, r->'user'->'external' AS external,
       pg_temp.row_of(r) = to_jsonb(u) AS document_is_row
  FROM new_users n JOIN user_upsert.users u ON u.id = (r->'user'->>'id')::uuid
 ORDER BY n.n;

SET client_min_messages = warning;
DROP EXTENSION user_upsert CASCADE;
RESET client_min_messages;
