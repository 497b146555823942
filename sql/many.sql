-- user_upsert_many() decides chunks of elements set-wise (src/pg/bulk.cpp) and
-- leaves the rest to the per-element path. Whatever path an element takes, the
-- batch must answer and leave the tables exactly as one user_upsert() call per
-- element, in order, would. This file runs one mixed batch of 700 elements
-- (several chunks) both ways from the same start and compares the answers and
-- the final rows, ids aside (new users get random ids).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_upsert CASCADE;
RESET client_min_messages;
CREATE EXTENSION user_upsert;

CREATE FUNCTION pg_temp.w(n int) RETURNS text LANGUAGE sql IMMUTABLE
  RETURN '0x' || lpad(to_hex(n * 2654435761 % 4294967291), 40, '0');

-- The starting users: fids 1..300 with a wallet each, agents on a few, and 50
-- users known by a wallet only (a payload with a fid and such a wallet merges them).
CREATE FUNCTION pg_temp.seed() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE user_upsert.identities, user_upsert.users, user_upsert.merges;
  PERFORM user_upsert.user_upsert(jsonb_build_object('fid', g, 'wallets', jsonb_build_array(pg_temp.w(g)),
                                                     'username', 'user' || g)
                                  || CASE WHEN g % 50 = 0 THEN jsonb_build_object('agent_id', 'agent-' || g) ELSE '{}' END)
    FROM generate_series(1, 300) g;
  PERFORM user_upsert.user_upsert(jsonb_build_object('wallets', jsonb_build_array(pg_temp.w(400 + g)), 'email', 'w' || g || '@example.com'))
    FROM generate_series(1, 50) g;
  -- One transaction gives them all one created_at; the merge survivor (the oldest) must not be a coin toss.
  UPDATE user_upsert.users SET created_at = created_at - interval '1 day' WHERE fid IS NULL;
END $$;

-- The batch: every shape, with elements that meet earlier ones of the same batch.
CREATE TEMP TABLE batch AS
SELECT jsonb_agg(p ORDER BY g) AS payloads FROM (
  SELECT g, CASE g % 15
    WHEN 0 THEN jsonb_build_object('fid', 1 + g % 300, 'display_name', 'name ' || g)                    -- update by fid
    WHEN 1 THEN jsonb_build_object('wallets', jsonb_build_array(pg_temp.w(1 + (g * 7) % 300)),
                                   'email', 'U' || g || '@Example.com')                                  -- update by wallet
    WHEN 2 THEN jsonb_build_object('fid', 1000 + g, 'wallets', jsonb_build_array(pg_temp.w(1000 + g)))   -- new user
    WHEN 3 THEN jsonb_build_object('fid', 1000 + g - 3, 'username', 'again ' || g)                       -- the user element g-1 created
    WHEN 4 THEN jsonb_build_object('fid', 1 + (g * 3) % 300, 'attrs', jsonb_build_object('k', g))        -- often a fid seen before
    WHEN 5 THEN jsonb_build_object('fid', 1 + (g * 11) % 300, 'wallets', jsonb_build_array(pg_temp.w(1 + (g * 13) % 300)))  -- a merge (or its refusal)
    WHEN 6 THEN jsonb_build_object('wallets', jsonb_build_array('0xnot-a-wallet'))                       -- 22023
    WHEN 7 THEN jsonb_build_object('wallets', jsonb_build_array('0x0000000000000000000000000000000000000000'))  -- UU002
    WHEN 8 THEN jsonb_build_object('fid', 1 + g % 300, 'username', 'keep ' || g, 'policy', 'keep')       -- unchanged
    WHEN 9 THEN jsonb_build_object('fid', 1 + (g * 5) % 300, 'observed_at', '2000-01-01T00:00:00Z',
                                   'display_name', 'old')                                                 -- stale or first observation
    WHEN 10 THEN jsonb_build_object('conflicts', 'skip', 'fid', 2000 + g,
                                    'wallets', jsonb_build_array(pg_temp.w(1 + g % 300), pg_temp.w(5000 + g)))  -- skip the taken wallet
    WHEN 11 THEN jsonb_build_object('agent_id', 'agent-' || (50 * (1 + g % 6)), 'display_name', 'agent ' || g)
    WHEN 12 THEN (SELECT jsonb_build_object('fid', 3000 + g, 'wallets', jsonb_agg(pg_temp.w(10000 + g * 100 + k)))
                    FROM generate_series(1, 30) k)                                                        -- 31 identity locks
    WHEN 13 THEN jsonb_build_object('fid', 1 + (g * 17) % 300, 'wallets', jsonb_build_array(pg_temp.w(401 + g % 50)),
                                    'display_name', 'merged ' || g)                                       -- merges a wallet-only user
    ELSE CASE WHEN g % 30 = 14 THEN '7'::jsonb ELSE jsonb_build_object('fid', 1.5) END                    -- not a payload
  END AS p
  FROM generate_series(1, 700) g
) s;

-- A canonical form: answers without ids and timestamps; live users by their identities.
CREATE FUNCTION pg_temp.answer(r jsonb) RETURNS text LANGUAGE sql AS $$
  SELECT regexp_replace(
           concat_ws(' | ', r->>'ordinal', coalesce(r->>'action', 'error ' || (r->'error'->>'sqlstate')),
                     r->'error'->>'message', (r->'user') - 'id' - 'created_at' - 'updated_at' - 'merged_into',
                     jsonb_array_length(coalesce(r->'merged_ids', '[]')), r->'skipped'),
           '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', 'U', 'g')
$$;
CREATE FUNCTION pg_temp.state() RETURNS TABLE (line text) LANGUAGE sql AS $$
  SELECT concat_ws(' | ', (SELECT string_agg(i.kind || ':' || i.value, ',' ORDER BY i.kind, i.value)
                              FROM user_upsert.identities i WHERE i.user_id = u.id),
                   u.kind, u.fid, u.primary_address, u.agent_id, u.email, u.username, u.display_name, u.attrs,
                   u.observed_at, u.version)
    FROM user_upsert.users u WHERE u.merged_into IS NULL
  UNION ALL
  SELECT 'tombstones: ' || count(*) FROM user_upsert.users WHERE merged_into IS NOT NULL
  UNION ALL
  SELECT 'merges: ' || count(*) FROM user_upsert.merges
$$;

-- One way: the batch (the DEBUG1 line shows how many elements the chunks decided).
SELECT pg_temp.seed();
CREATE TEMP TABLE by_batch (ordinal int, answer text);
SET client_min_messages = debug1;
INSERT INTO by_batch
  SELECT (r->>'ordinal')::int, pg_temp.answer(r) FROM user_upsert.user_upsert_many((SELECT payloads FROM batch)) r;
RESET client_min_messages;
CREATE TEMP TABLE state_by_batch AS SELECT * FROM pg_temp.state();
SELECT * FROM user_upsert.user_verify();

-- The other way: one user_upsert() per element, errors caught as the batch reports them.
SELECT pg_temp.seed();
CREATE TEMP TABLE one_by_one (ordinal int, answer text);
DO $$
DECLARE p jsonb; n int := 0; r jsonb; st text; msg text; det text;
BEGIN
  FOR p IN SELECT jsonb_array_elements(payloads) FROM batch LOOP
    n := n + 1;
    BEGIN
      r := user_upsert.user_upsert(p) || jsonb_build_object('ordinal', n);
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
      r := jsonb_build_object('ordinal', n, 'error', jsonb_build_object('sqlstate', st, 'message', msg));
    END;
    INSERT INTO one_by_one VALUES (n, pg_temp.answer(r));
  END LOOP;
END $$;
CREATE TEMP TABLE state_one_by_one AS SELECT * FROM pg_temp.state();

-- The same answers, in order, and the same rows.
SELECT count(*) AS answers, count(DISTINCT ordinal) AS ordinals, min(ordinal), max(ordinal) FROM by_batch;
SELECT b.ordinal, b.answer AS by_batch, o.answer AS one_by_one
  FROM by_batch b FULL JOIN one_by_one o USING (ordinal) WHERE b.answer IS DISTINCT FROM o.answer ORDER BY 1 LIMIT 5;
(SELECT 'only by batch' AS side, line FROM state_by_batch EXCEPT ALL SELECT 'only by batch', line FROM state_one_by_one)
UNION ALL
(SELECT 'only one by one', line FROM state_one_by_one EXCEPT ALL SELECT 'only one by one', line FROM state_by_batch)
ORDER BY 1, 2 LIMIT 5;
-- The mix really has every outcome.
SELECT split_part(answer, ' | ', 2) AS outcome, count(*) FROM by_batch GROUP BY 1 ORDER BY 1;
SELECT * FROM user_upsert.user_verify();

-- No identity lock is left, and the lock table stayed bounded (chunks give theirs back).
SELECT count(*) AS locks_left FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND objsubid = 3;

-- 100,000 elements (200,000 identities) in one call with the default max_locks_per_transaction: the
-- chunks give their identity locks back, so the lock table never holds more than a chunk's.
SHOW max_locks_per_transaction;
SELECT count(*) AS elements, count(*) FILTER (WHERE r->>'action' = 'inserted') AS inserted,
       count(*) FILTER (WHERE r ? 'error') AS errors
  FROM user_upsert.user_upsert_many((SELECT jsonb_agg(jsonb_build_object('fid', 100000 + g, 'wallets',
         jsonb_build_array(pg_temp.w(100000 + g)))) FROM generate_series(1, 100000) g)) r;
SELECT count(*) AS big_batch_users FROM user_upsert.users WHERE fid > 100000;
-- an error object carries the error's hint too: the did-you-mean of an unknown key
SELECT r->'error' AS error FROM user_upsert.user_upsert_many('[{"fid": 1, "usernme": "ann"}]') r;

-- The application's own triggers and constraints see the batch's updates as they see an UPDATE's: a
-- BEFORE trigger's change is in the answer and the row (a stored generated column follows it), an
-- AFTER row trigger fires once per row written, an AFTER statement trigger once for the chunk with
-- the rows in its transition table, and a CHECK constraint the application added refuses its element
-- alone (the chunk is rolled back and run one by one; the element's error object, the others apply).
SELECT pg_temp.seed();
CREATE TABLE public.name_log (fid bigint, old_name text, new_name text);
CREATE FUNCTION public.tidy_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.display_name := btrim(NEW.display_name); RETURN NEW; END $$;
CREATE FUNCTION public.log_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.name_log VALUES (NEW.fid, OLD.display_name, NEW.display_name); RETURN NULL; END $$;
CREATE TRIGGER tidy_name BEFORE UPDATE ON user_upsert.users FOR EACH ROW EXECUTE FUNCTION public.tidy_name();
CREATE TRIGGER log_name AFTER UPDATE ON user_upsert.users FOR EACH ROW EXECUTE FUNCTION public.log_name();
CREATE FUNCTION public.log_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.name_log SELECT NULL, 'statement', count(*)::text FROM changed; RETURN NULL; END $$;
CREATE TRIGGER log_statement AFTER UPDATE ON user_upsert.users REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION public.log_statement();
ALTER TABLE user_upsert.users ADD COLUMN shouted_name text GENERATED ALWAYS AS (upper(display_name)) STORED;
SET client_min_messages = debug1;
SELECT r->>'ordinal' AS ordinal, r->>'action' AS action, r->'user'->>'display_name' AS display_name,
       r->'user'->>'shouted_name' AS shouted_name, r->'user'->>'version' AS version
  FROM user_upsert.user_upsert_many('[{"fid": 1, "display_name": "  One  "}, {"fid": 2, "display_name": "Two"}]') r;
RESET client_min_messages;
SELECT fid, display_name, shouted_name, version FROM user_upsert.users WHERE fid IN (1, 2) ORDER BY fid;
ALTER TABLE user_upsert.users DROP COLUMN shouted_name;
ALTER TABLE user_upsert.users ADD CONSTRAINT short_display_name CHECK (length(display_name) <= 20);
SELECT r->>'ordinal' AS ordinal, r->>'action' AS action, r->'user'->>'display_name' AS display_name,
       r->'error'->>'sqlstate' AS error
  FROM user_upsert.user_upsert_many('[{"fid": 1, "display_name": " Uno "}, {"fid": 2, "display_name": "a name longer than twenty"},
                                      {"fid": 3, "display_name": "Three"}]') r;
SELECT fid, display_name, version FROM user_upsert.users WHERE fid IN (1, 2, 3) ORDER BY fid;
SELECT * FROM public.name_log ORDER BY fid, new_name;
ALTER TABLE user_upsert.users DROP CONSTRAINT short_display_name;
DROP TRIGGER tidy_name ON user_upsert.users;
DROP TRIGGER log_name ON user_upsert.users;
DROP TRIGGER log_statement ON user_upsert.users;
DROP FUNCTION public.tidy_name(), public.log_name(), public.log_statement();
DROP TABLE public.name_log;
SELECT * FROM user_upsert.user_verify();

-- The batch writes with the caller's rights: UPDATE on the columns an UPDATE of the user would set.
CREATE ROLE uu_many_writer;
GRANT USAGE ON SCHEMA user_upsert TO uu_many_writer;
GRANT SELECT ON ALL TABLES IN SCHEMA user_upsert TO uu_many_writer;
GRANT UPDATE (display_name) ON user_upsert.users TO uu_many_writer;
SET ROLE uu_many_writer;
SELECT r FROM user_upsert.user_upsert_many('[{"fid": 1, "display_name": "Not allowed"}]') r;
RESET ROLE;
SELECT display_name FROM user_upsert.users WHERE fid = 1;
REVOKE ALL ON ALL TABLES IN SCHEMA user_upsert FROM uu_many_writer;
REVOKE USAGE ON SCHEMA user_upsert FROM uu_many_writer;
DROP ROLE uu_many_writer;

-- REPEATABLE READ takes the per-element path for every element (its 40001 cross-checks): same answers.
SELECT pg_temp.seed();
BEGIN ISOLATION LEVEL REPEATABLE READ;
CREATE TEMP TABLE by_batch_rr AS
  SELECT (r->>'ordinal')::int AS ordinal, pg_temp.answer(r) AS answer FROM user_upsert.user_upsert_many((SELECT payloads FROM batch)) r;
COMMIT;
SELECT count(*) AS differing FROM by_batch_rr b FULL JOIN one_by_one o USING (ordinal) WHERE b.answer IS DISTINCT FROM o.answer;

SET client_min_messages = warning;
DROP EXTENSION user_upsert CASCADE;
RESET client_min_messages;
