-- user_upsert() must mean the same thing whatever the caller's search_path
-- holds (STYLE.md habit 8). The same script of payloads runs twice: once
-- in a clean session, once in a fresh session (so that every saved plan is
-- prepared under the attack) whose search_path puts public before
-- pg_catalog, where look-alike functions, operators, a type and tables have
-- been planted. Results and rows must be identical, and no planted object
-- may ever run.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_upsert CASCADE;
DROP SCHEMA IF EXISTS uu_spa CASCADE;
CREATE EXTENSION user_upsert;
RESET client_min_messages;

-- The harness lives in its own schema: it must survive \c, and it only
-- uses names the attack leaves alone.
CREATE SCHEMA uu_spa;
CREATE TABLE uu_spa.script (n int PRIMARY KEY, payload jsonb NOT NULL);
CREATE TABLE uu_spa.outcomes (run text, n int, outcome jsonb, PRIMARY KEY (run, n));
CREATE TABLE uu_spa.rows (run text, tbl text, row jsonb);
INSERT INTO uu_spa.script VALUES
    (1, '{"id": "00000000-0000-4000-8000-000000000001", "fid": 1,
          "wallets": ["0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", "So11111111111111111111111111111111111111112"],
          "external": {"Clerk": "user_1"}, "email": "One@Example.COM", "attrs": {"a": 1, "n": {"x": 1}},
          "observed_at": "2026-01-01T00:00:00Z"}'),
    (2, '{"fid": 1, "username": "one", "attrs": {"n": {"x": null, "y": 2}}}'),
    (3, '{"fid": "1", "wallets": [" 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed "]}'),
    (4, '{"id": "00000000-0000-4000-8000-000000000002", "agent_id": "bot-2"}'),
    (5, '{"agent_id": "bot-2", "fid": 2, "policy": "fill", "display_name": "Two", "kind": "human"}'),
    (6, '{"wallets": ["0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"], "username": "old", "observed_at": 1704067200000}'),
    (7, '{"external": {"CLERK": "user_1"}, "fid": 3}'),
    (8, '{"wallets": ["0x000000000000000000000000000000000000dEaD"]}'),
    (9, '{"wallets": ["0x0000000000000000000000000000000000000000"]}'),
    (10, '{"id": "00000000-0000-4000-8000-000000000003", "external": {"github": "three"}, "policy": "keep",
           "primary_address": "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"}'),
    (11, '{"id": "00000000-0000-4000-8000-000000000001", "agent_id": "bot-2", "policy": "keep"}'),
    (12, '{"id": "00000000-0000-4000-8000-0000000000ff", "fid": 2}'),
    (13, '{"fid": 1, "primary_address": null, "email": null, "attrs": {"a": null}}'),
    (14, '{"fid": 4, "wallets": ["0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"]}'),
    (15, '{"fid": 4, "fidd": 5}');
CREATE FUNCTION uu_spa.try(p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
	RETURN jsonb_build_object('result', user_upsert.user_upsert(p));
EXCEPTION WHEN OTHERS THEN
	RETURN jsonb_build_object('sqlstate', SQLSTATE, 'message', SQLERRM);
END $$;
-- Generated ids and timestamps differ between the runs: leave them out.
CREATE FUNCTION uu_spa.canon_id(id text) RETURNS text LANGUAGE sql
SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE WHEN id LIKE '00000000-0000-4000-8000-0000000000__' THEN id
	            WHEN id IS NULL THEN NULL ELSE 'generated' END
$$;
CREATE FUNCTION uu_spa.canon(j jsonb) RETURNS jsonb LANGUAGE sql
SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE WHEN j ? 'result'
	            THEN jsonb_set(j, '{result,user}',
	                           (j->'result'->'user') - 'created_at'::text - 'updated_at'::text
	                           || jsonb_build_object('id', uu_spa.canon_id(j->'result'->'user'->>'id')))
	            ELSE j END
$$;
CREATE FUNCTION uu_spa.snapshot(run text) RETURNS void LANGUAGE sql
SET search_path = pg_catalog, pg_temp AS $$
	INSERT INTO uu_spa.rows
	SELECT run, 'users', to_jsonb(u) - 'created_at'::text - 'updated_at'::text
	                     || jsonb_build_object('id', uu_spa.canon_id(u.id::text)) FROM user_upsert.users u;
	INSERT INTO uu_spa.rows
	SELECT run, 'identities', to_jsonb(i) - 'created_at'::text
	                          || jsonb_build_object('user_id', uu_spa.canon_id(i.user_id::text)) FROM user_upsert.identities i;
	INSERT INTO uu_spa.rows SELECT run, 'blocked_identities', to_jsonb(b) FROM user_upsert.blocked_identities b;
	INSERT INTO uu_spa.rows SELECT run, 'merges', to_jsonb(m) FROM user_upsert.merges m;
$$;

-- 1. The clean run, then one direct call at top level.
DO $$
DECLARE
	s record;
BEGIN
	FOR s IN SELECT n, payload FROM uu_spa.script ORDER BY n LOOP
		INSERT INTO uu_spa.outcomes VALUES ('clean', s.n, uu_spa.try(s.payload));
	END LOOP;
END $$;
SELECT r->>'action' AS action, r->'user'->'version' AS version
  FROM user_upsert.user_upsert('{"fid": 1, "display_name": "direct"}') AS r;
SELECT uu_spa.snapshot('clean');
SELECT n, coalesce(outcome->'result'->>'action', (outcome->>'sqlstate') || ': ' || (outcome->>'message')) AS outcome
  FROM uu_spa.outcomes WHERE run = 'clean' ORDER BY n;
DELETE FROM user_upsert.users;
DELETE FROM user_upsert.merges;

-- 2. The attack: look-alikes in public that log every call to attack_log.
CREATE TABLE public.attack_log (what text);
CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.attack_log VALUES ('lower'); RETURN 'pwned'; END $$;
CREATE FUNCTION public.upper(text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.attack_log VALUES ('upper'); RETURN 'PWNED'; END $$;
CREATE FUNCTION public.gen_random_uuid() RETURNS uuid LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.attack_log VALUES ('gen_random_uuid'); RETURN '00000000-0000-0000-0000-00000000dead'; END $$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.attack_log VALUES ('now'); RETURN '1999-01-01 00:00:00+00'; END $$;
CREATE FUNCTION public.to_jsonb(anyelement) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.attack_log VALUES ('to_jsonb'); RETURN '{"pwned": true}'; END $$;
CREATE FUNCTION public.unnest(anyarray) RETURNS SETOF anyelement LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.attack_log VALUES ('unnest'); END $$;
CREATE FUNCTION public.evil_text_eq(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.attack_log VALUES ('= text'); RETURN true; END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.evil_text_eq);
CREATE FUNCTION public.evil_uuid_eq(uuid, uuid) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.attack_log VALUES ('= uuid'); RETURN true; END $$;
CREATE OPERATOR public.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = public.evil_uuid_eq);
CREATE FUNCTION public.evil_int8_pl(bigint, bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.attack_log VALUES ('+ bigint'); RETURN 1000; END $$;
CREATE OPERATOR public.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.evil_int8_pl);
CREATE FUNCTION public.evil_textcat(text, text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.attack_log VALUES ('|| text'); RETURN 'pwned'; END $$;
CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = public.evil_textcat);
CREATE DOMAIN public.uuid AS text;
CREATE TABLE public.users (id text, kind text, fid bigint, primary_address text, agent_id text, merged_into text,
                           deleted_at timestamptz, version bigint);
CREATE TABLE public.identities (kind text, value text, user_id text, created_at timestamptz);
CREATE TABLE public.blocked_identities (kind text, value text, reason text);
CREATE TABLE public.merges (survivor_id text, merged_id text);
INSERT INTO public.users VALUES ('00000000-0000-0000-0000-00000000dead', 'human', 1, NULL, NULL, NULL, NULL, 1);
INSERT INTO public.identities VALUES ('fid', '1', '00000000-0000-0000-0000-00000000dead', now()),
                                     ('wallet', '0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359', '00000000-0000-0000-0000-00000000dead', now());
INSERT INTO public.blocked_identities VALUES ('fid', '2', 'planted'), ('agent', 'bot-2', 'planted'),
                                             ('external', 'clerk:user_1', 'planted');

-- 3. The attacked run, in a fresh session: no plan prepared before.
\c -
SET search_path = public, pg_catalog;
-- the look-alikes are live for an unqualified caller
SELECT lower('ABC') AS lower, 'a'::text = 'b'::text AS a_equals_b, now() AS now, 'x'::text || 'y' AS cat;
TRUNCATE public.attack_log;
DO $$
DECLARE
	s record;
BEGIN
	FOR s IN SELECT n, payload FROM uu_spa.script ORDER BY n LOOP
		INSERT INTO uu_spa.outcomes VALUES ('attacked', s.n, uu_spa.try(s.payload));
	END LOOP;
END $$;
-- a direct call at top level under the attack, too (this statement itself
-- must not compare anything: its operators would be the planted ones)
SELECT r->>'action' AS action, r->'user'->'version' AS version
  FROM user_upsert.user_upsert('{"fid": 1, "display_name": "direct"}') AS r;
RESET search_path;

-- 4. Nothing planted ran; results and rows are the clean run's.
SELECT count(*) AS planted_calls, string_agg(DISTINCT what, ', ') AS planted_objects_called FROM public.attack_log;
SELECT count(*) AS planted_rows_touched FROM public.users WHERE id <> '00000000-0000-0000-0000-00000000dead';
SELECT count(*) FILTER (WHERE id = '00000000-0000-0000-0000-00000000dead') AS planted_uuid_used,
       count(*) FILTER (WHERE created_at < '2000-01-01' OR updated_at < '2000-01-01') AS planted_now_used,
       count(*) FILTER (WHERE version >= 1000) AS planted_plus_used
  FROM user_upsert.users;
SELECT uu_spa.snapshot('attacked');
SELECT c.n, uu_spa.canon(c.outcome) = uu_spa.canon(a.outcome) AS same_outcome
  FROM uu_spa.outcomes c JOIN uu_spa.outcomes a ON a.n = c.n AND a.run = 'attacked'
 WHERE c.run = 'clean' ORDER BY c.n;
SELECT count(*) AS outcomes_compared FROM uu_spa.outcomes WHERE run = 'attacked';
(SELECT 'only clean' AS side, tbl, row FROM uu_spa.rows WHERE run = 'clean'
 EXCEPT ALL SELECT 'only clean', tbl, row FROM uu_spa.rows WHERE run = 'attacked')
UNION ALL
(SELECT 'only attacked', tbl, row FROM uu_spa.rows WHERE run = 'attacked'
 EXCEPT ALL SELECT 'only attacked', tbl, row FROM uu_spa.rows WHERE run = 'clean')
ORDER BY 1, 2;
SELECT run, tbl, count(*) AS rows FROM uu_spa.rows GROUP BY run, tbl ORDER BY tbl, run;

-- 5. Clean up.
DROP TABLE public.attack_log, public.users, public.identities, public.blocked_identities, public.merges;
DROP OPERATOR public.= (text, text);
DROP OPERATOR public.= (uuid, uuid);
DROP OPERATOR public.+ (bigint, bigint);
DROP OPERATOR public.|| (text, text);
DROP FUNCTION public.lower(text), public.upper(text), public.gen_random_uuid(), public.now(),
              public.to_jsonb(anyelement), public.unnest(anyarray), public.evil_text_eq(text, text),
              public.evil_uuid_eq(uuid, uuid), public.evil_int8_pl(bigint, bigint), public.evil_textcat(text, text);
DROP DOMAIN public.uuid;
SET client_min_messages = warning;
DROP SCHEMA uu_spa CASCADE;
DROP EXTENSION user_upsert CASCADE;
RESET client_min_messages;
