-- CHECK constraints and trigger WHEN conditions an application adds to users hold
-- for user_upsert()'s writes as for an UPDATE statement's: the update path keeps
-- them parsed per backend (src/pg/bulk.cpp, stored_exprs()), so one added,
-- dropped or replaced, and a SQL function it calls redefined, must take effect
-- at the next call.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_upsert CASCADE;
RESET client_min_messages;
CREATE EXTENSION user_upsert;
CREATE FUNCTION pg_temp.try(p jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r jsonb; st text; msg text;
BEGIN
  r := user_upsert.user_upsert(p);
  RETURN (r->>'action') || ' ' || coalesce(r->'user'->>'display_name', '-');
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
  RETURN st || ': ' || msg;
END $$;
CREATE FUNCTION public.name_allowed(name text) RETURNS boolean LANGUAGE sql IMMUTABLE
  RETURN name IS DISTINCT FROM 'bad';
SELECT pg_temp.try('{"fid": 1, "display_name": "good"}') AS insert;
ALTER TABLE user_upsert.users ADD CONSTRAINT allowed_name CHECK (public.name_allowed(display_name));
SELECT pg_temp.try('{"fid": 1, "display_name": "bad"}') AS refused;
SELECT pg_temp.try('{"fid": 1, "display_name": "fine"}') AS updated;
-- The function is inlined when the constraint is planned: a new body counts at the next call.
CREATE OR REPLACE FUNCTION public.name_allowed(name text) RETURNS boolean LANGUAGE sql IMMUTABLE
  RETURN name IS DISTINCT FROM 'worse';
SELECT pg_temp.try('{"fid": 1, "display_name": "bad"}') AS now_allowed;
SELECT pg_temp.try('{"fid": 1, "display_name": "worse"}') AS now_refused;
-- Another constraint beside it, then the first dropped.
ALTER TABLE user_upsert.users ADD CONSTRAINT short_name CHECK (length(display_name) <= 8);
SELECT pg_temp.try('{"fid": 1, "display_name": "far too long"}') AS too_long;
SELECT pg_temp.try('{"fid": 1, "display_name": "worse"}') AS still_refused;
ALTER TABLE user_upsert.users DROP CONSTRAINT allowed_name;
SELECT pg_temp.try('{"fid": 1, "display_name": "worse"}') AS allowed_again;
SELECT pg_temp.try('{"fid": 1, "display_name": "far too long"}') AS still_too_long;
-- A batch's rows are held to them too, element by element.
SELECT r->>'ordinal' AS ordinal, coalesce(r->>'action', r->'error'->>'sqlstate') AS outcome
  FROM user_upsert.user_upsert_many('[{"fid": 1, "display_name": "ok"}, {"fid": 1, "display_name": "much too long"}]') r;
-- Replaced under the same name: the new text is the one enforced.
ALTER TABLE user_upsert.users DROP CONSTRAINT short_name,
  ADD CONSTRAINT short_name CHECK (length(display_name) <= 3);
SELECT pg_temp.try('{"fid": 1, "display_name": "four"}') AS shorter_now;
SELECT pg_temp.try('{"fid": 1, "display_name": "abc"}') AS fits;
SELECT fid, display_name, version FROM user_upsert.users ORDER BY fid;
ALTER TABLE user_upsert.users DROP CONSTRAINT short_name;

-- Triggers' WHEN conditions, the same way.
CREATE TABLE public.name_changes (n serial, fid bigint, old_name text, new_name text, why text);
CREATE FUNCTION public.note_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.name_changes (fid, old_name, new_name, why) VALUES (NEW.fid, OLD.display_name, NEW.display_name, TG_ARGV[0]);
  RETURN NULL;
END $$;
CREATE TRIGGER changed_name AFTER UPDATE ON user_upsert.users FOR EACH ROW
  WHEN (OLD.display_name IS DISTINCT FROM NEW.display_name) EXECUTE FUNCTION public.note_change('changed');
SELECT pg_temp.try('{"fid": 1, "display_name": "abc"}') AS same_name;
SELECT pg_temp.try('{"fid": 1, "display_name": "new", "username": "u1"}') AS new_name;
SELECT pg_temp.try('{"fid": 1, "username": "u2"}') AS only_username;
DROP TRIGGER changed_name ON user_upsert.users;
CREATE TRIGGER changed_name AFTER UPDATE ON user_upsert.users FOR EACH ROW
  WHEN (OLD.username IS DISTINCT FROM NEW.username) EXECUTE FUNCTION public.note_change('username');
SELECT pg_temp.try('{"fid": 1, "username": "u3"}') AS username_now;
SELECT pg_temp.try('{"fid": 1, "display_name": "newer"}') AS name_not_now;
CREATE FUNCTION public.is_vip(name text) RETURNS boolean LANGUAGE sql IMMUTABLE RETURN name = 'vip';
CREATE TRIGGER vip_name AFTER UPDATE ON user_upsert.users FOR EACH ROW
  WHEN (public.is_vip(NEW.display_name)) EXECUTE FUNCTION public.note_change('vip');
SELECT pg_temp.try('{"fid": 1, "display_name": "vip"}') AS vip;
CREATE OR REPLACE FUNCTION public.is_vip(name text) RETURNS boolean LANGUAGE sql IMMUTABLE RETURN name = 'VIP';
SELECT pg_temp.try('{"fid": 1, "display_name": "vip", "username": "u4"}') AS vip_no_more;
SELECT pg_temp.try('{"fid": 1, "display_name": "VIP"}') AS vip_now;
SELECT fid, old_name, new_name, why FROM public.name_changes ORDER BY n;
DROP TRIGGER changed_name ON user_upsert.users;
DROP TRIGGER vip_name ON user_upsert.users;

-- Inserts and direct SQL too: the stored expressions reach every INSERT and UPDATE of users
-- and identities through an ExecutorStart hook, with the same rules.
TRUNCATE public.name_changes;
CREATE OR REPLACE FUNCTION public.name_allowed(name text) RETURNS boolean LANGUAGE sql IMMUTABLE
  RETURN name IS DISTINCT FROM 'bad';
ALTER TABLE user_upsert.users ADD CONSTRAINT allowed_name CHECK (public.name_allowed(display_name));
CREATE TRIGGER new_vip AFTER INSERT ON user_upsert.users FOR EACH ROW
  WHEN (public.is_vip(NEW.display_name)) EXECUTE FUNCTION public.note_change('new vip');
SELECT pg_temp.try('{"fid": 2, "display_name": "bad"}') AS insert_refused;
SELECT pg_temp.try('{"fid": 2, "display_name": "worse"}') AS insert_allowed;
SELECT pg_temp.try('{"fid": 3, "display_name": "VIP"}') AS vip_inserted;
CREATE OR REPLACE FUNCTION public.name_allowed(name text) RETURNS boolean LANGUAGE sql IMMUTABLE
  RETURN name IS DISTINCT FROM 'worse';
CREATE OR REPLACE FUNCTION public.is_vip(name text) RETURNS boolean LANGUAGE sql IMMUTABLE RETURN name = 'vip';
SELECT pg_temp.try('{"fid": 4, "display_name": "worse"}') AS insert_refused_now;
SELECT pg_temp.try('{"fid": 4, "display_name": "vip"}') AS vip_now_lower;
SELECT pg_temp.try('{"fid": 5, "display_name": "VIP"}') AS not_vip_now;
\set VERBOSITY terse
INSERT INTO user_upsert.users (fid, display_name) VALUES (6, 'worse');
UPDATE user_upsert.users SET display_name = 'worse' WHERE fid = 4;
\set VERBOSITY default
INSERT INTO user_upsert.users (fid, display_name) VALUES (6, 'vip');
ALTER TABLE user_upsert.users DROP CONSTRAINT allowed_name;
INSERT INTO user_upsert.users (fid, display_name) VALUES (7, 'worse');
UPDATE user_upsert.users SET display_name = 'worse' WHERE fid = 4;
SELECT fid, new_name, why FROM public.name_changes ORDER BY n;
SELECT fid, display_name FROM user_upsert.users WHERE fid > 1 ORDER BY fid;
DROP TRIGGER new_vip ON user_upsert.users;
DROP FUNCTION public.note_change(), public.is_vip(text);
DROP TABLE public.name_changes;
DROP FUNCTION public.name_allowed(text);
DROP EXTENSION user_upsert;
