-- A new user's row and its identities are written through the executor's
-- single-row path (src/pg/bulk.cpp, insert_user() and insert_identities()),
-- not by INSERT statements: everything an INSERT would do must still happen.
-- Privileges, the application's triggers (row and statement, transition
-- tables), stored generated columns, CHECK constraints; and where the table
-- has a column the INSERT would fill itself (a default, an identity column, a
-- domain), the statement is what runs.
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

-- The answer is the row as stored, spelled as to_jsonb() spells it; the id given is the id kept.
CREATE TEMP TABLE first_answer AS
  SELECT user_upsert.user_upsert('{"id": "00000000-0000-4000-8000-000000000001", "fid": 1,
                                   "wallets": ["0x1111111111111111111111111111111111111111"]}') AS r;
SELECT r->>'action' AS action, r->'user'->>'id' AS id, r->'user'->'wallets' AS wallets,
       (r->'user') - 'wallets'::text - 'external'::text = to_jsonb(u) AS answer_is_row,
       u.created_at = u.updated_at AND u.version = 1 AND u.kind = 'human' AND u.attrs = '{}' AS new_row_values
  FROM first_answer JOIN user_upsert.users u ON u.fid = 1;
SELECT i.kind, i.value, i.created_at = u.created_at AS created_with_user
  FROM user_upsert.identities i JOIN user_upsert.users u ON u.id = i.user_id ORDER BY i.kind, i.value;

-- The application's triggers: a BEFORE row trigger's change is in the row and the answer, and a stored
-- generated column follows it; AFTER row triggers fire once per row; statement triggers once per
-- call and per table, the AFTER one with the rows in its transition table.
CREATE TABLE public.trigger_log (source text, detail text);
CREATE FUNCTION public.tidy_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.display_name := btrim(NEW.display_name); RETURN NEW; END $$;
CREATE FUNCTION public.log_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.trigger_log VALUES (TG_TABLE_NAME || ' ' || TG_WHEN || ' row', to_jsonb(NEW)->>'display_name'); RETURN NULL; END $$;
CREATE FUNCTION public.log_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.trigger_log VALUES (TG_TABLE_NAME || ' ' || TG_WHEN || ' statement', NULL); RETURN NULL; END $$;
CREATE FUNCTION public.log_new_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.trigger_log SELECT TG_TABLE_NAME || ' new table', count(*)::text FROM new_rows;
  RETURN NULL;
END $$;
CREATE TRIGGER tidy_name BEFORE INSERT ON user_upsert.users FOR EACH ROW EXECUTE FUNCTION public.tidy_name();
CREATE TRIGGER log_row AFTER INSERT ON user_upsert.users FOR EACH ROW EXECUTE FUNCTION public.log_row();
CREATE TRIGGER log_before BEFORE INSERT ON user_upsert.users FOR EACH STATEMENT EXECUTE FUNCTION public.log_statement();
CREATE TRIGGER log_new_rows AFTER INSERT ON user_upsert.users REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION public.log_new_rows();
CREATE TRIGGER log_new_rows AFTER INSERT ON user_upsert.identities REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION public.log_new_rows();
ALTER TABLE user_upsert.users ADD COLUMN shouted_name text GENERATED ALWAYS AS (upper(display_name)) STORED;
SELECT r->>'action' AS action, r->'user'->>'display_name' AS display_name, r->'user'->>'shouted_name' AS shouted_name
  FROM user_upsert.user_upsert('{"fid": 2, "display_name": "  Two  ", "wallets": ["0x2222222222222222222222222222222222222222"]}') r;
SELECT fid, display_name, shouted_name FROM user_upsert.users WHERE fid = 2;
SELECT source, detail FROM public.trigger_log ORDER BY source;
-- A batch's new users are one statement's worth per chunk, as its INSERT's would be.
TRUNCATE public.trigger_log;
SELECT r->>'ordinal' AS ordinal, r->>'action' AS action, r->'user'->>'display_name' AS display_name,
       r->'user'->>'shouted_name' AS shouted_name
  FROM user_upsert.user_upsert_many('[{"fid": 20, "display_name": " Twenty "},
                                      {"fid": 21, "display_name": "Twenty1", "wallets": ["0x2121212121212121212121212121212121212121"]}]') r;
SELECT source, detail FROM public.trigger_log ORDER BY source, detail;
ALTER TABLE user_upsert.users DROP COLUMN shouted_name;
DROP TRIGGER tidy_name ON user_upsert.users;
DROP TRIGGER log_row ON user_upsert.users;
DROP TRIGGER log_before ON user_upsert.users;
DROP TRIGGER log_new_rows ON user_upsert.users;
DROP TRIGGER log_new_rows ON user_upsert.identities;

-- A BEFORE trigger that drops the row: an error, and nothing of the call is written.
CREATE FUNCTION public.drop_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER drop_row BEFORE INSERT ON user_upsert.users FOR EACH ROW EXECUTE FUNCTION public.drop_row();
SELECT pg_temp.try('{"fid": 3}') AS dropped_by_trigger;
DROP TRIGGER drop_row ON user_upsert.users;
SELECT count(*) AS fid_3_rows FROM user_upsert.identities WHERE kind = 'fid' AND value = '3';

-- A CHECK constraint the application added refuses the new row, and nothing is written.
ALTER TABLE user_upsert.users ADD CONSTRAINT short_name CHECK (length(display_name) <= 8);
SELECT pg_temp.try('{"fid": 3, "display_name": "far too long", "wallets": ["0x3333333333333333333333333333333333333333"]}') AS refused;
SELECT count(*) AS fid_3_rows FROM user_upsert.identities WHERE value IN ('3', '0x3333333333333333333333333333333333333333');
ALTER TABLE user_upsert.users DROP CONSTRAINT short_name;

-- Columns the application added that the INSERT statement fills: defaults (the column's or its
-- domain's) and identity values are there. Dropped again, the rows are written in place once more.
CREATE DOMAIN public.tier AS text DEFAULT 'basic';
ALTER TABLE user_upsert.users ADD COLUMN plan text DEFAULT 'free', ADD COLUMN seq int GENERATED BY DEFAULT AS IDENTITY,
                              ADD COLUMN tier public.tier;
ALTER TABLE user_upsert.identities ADD COLUMN source text DEFAULT 'user_upsert', ADD COLUMN tier public.tier;
SELECT r->'user'->>'plan' AS plan, (r->'user'->>'seq')::int > 0 AS numbered, r->'user'->>'tier' AS tier
  FROM user_upsert.user_upsert('{"fid": 4, "wallets": ["0x4444444444444444444444444444444444444444"]}') r;
SELECT i.kind, i.source, i.tier FROM user_upsert.identities i JOIN user_upsert.users u ON u.id = i.user_id
 WHERE u.fid = 4 ORDER BY i.kind;
ALTER TABLE user_upsert.users DROP COLUMN seq, DROP COLUMN plan;
ALTER TABLE user_upsert.identities DROP COLUMN source;
SELECT r->'user'->>'tier' AS domain_default_alone FROM user_upsert.user_upsert('{"fid": 5}') r;
SELECT i.tier AS identity_domain_default_alone FROM user_upsert.identities i WHERE i.kind = 'fid' AND i.value = '5';
ALTER TABLE user_upsert.users DROP COLUMN tier;
ALTER TABLE user_upsert.identities DROP COLUMN tier;
DROP DOMAIN public.tier;
SELECT pg_temp.try('{"fid": 7, "display_name": "Seven"}') AS in_place_again;

-- The caller's privileges, as for the INSERT: on users, and on identities for the links.
CREATE ROLE uu_inserter;
GRANT USAGE ON SCHEMA user_upsert TO uu_inserter;
GRANT SELECT, UPDATE ON ALL TABLES IN SCHEMA user_upsert TO uu_inserter;
SET ROLE uu_inserter;
SELECT pg_temp.try('{"fid": 6}') AS without_insert;
RESET ROLE;
GRANT INSERT ON user_upsert.users TO uu_inserter;
SET ROLE uu_inserter;
SELECT pg_temp.try('{"fid": 6}') AS without_insert_on_identities;
RESET ROLE;
GRANT INSERT ON user_upsert.identities TO uu_inserter;
SET ROLE uu_inserter;
SELECT pg_temp.try('{"fid": 6, "display_name": "Six"}') AS with_both;
RESET ROLE;
REVOKE ALL ON ALL TABLES IN SCHEMA user_upsert FROM uu_inserter;
REVOKE USAGE ON SCHEMA user_upsert FROM uu_inserter;
DROP ROLE uu_inserter;

-- The application's triggers run under the caller's search_path, as for its own INSERT: a trigger
-- naming its table unqualified finds it through the path the session set.
CREATE SCHEMA app;
CREATE TABLE app.signups (fid bigint);
CREATE FUNCTION app.note_signup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO signups VALUES (NEW.fid); RETURN NULL; END $$;
CREATE TRIGGER note_signup AFTER INSERT ON user_upsert.users FOR EACH ROW EXECUTE FUNCTION app.note_signup();
SET search_path = app, public;
SELECT pg_temp.try('{"fid": 8, "display_name": "Eight"}') AS with_app_path;
RESET search_path;
SELECT fid FROM app.signups;
DROP TRIGGER note_signup ON user_upsert.users;
DROP SCHEMA app CASCADE;

SELECT fid, display_name FROM user_upsert.users ORDER BY fid;
SELECT * FROM user_upsert.user_verify();
DROP FUNCTION public.tidy_name(), public.log_row(), public.log_statement(), public.log_new_rows(), public.drop_row();
DROP TABLE public.trigger_log;
DROP EXTENSION user_upsert;
