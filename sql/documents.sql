-- Every answer is jsonb written straight from the core's tokens (src/pg/jsonb.cpp):
-- its bytes must be the ones PostgreSQL's own encoder writes for the same value,
-- whatever the shape (key order, duplicate keys, numbers, strings, nesting, the
-- every-32nd-entry offsets of big containers). A binary-coercible cast shows the bytes.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_upsert CASCADE;
RESET client_min_messages;
CREATE EXTENSION user_upsert;
CREATE CAST (jsonb AS bytea) WITHOUT FUNCTION;
CREATE TEMP TABLE answers (label text, doc jsonb);
CREATE FUNCTION pg_temp.keep(label text, doc jsonb) RETURNS void LANGUAGE sql AS $$
  INSERT INTO answers VALUES (label, doc) $$;

-- attrs of every shape: 40 keys (sorted by qsort, offsets past 32), a 70-element
-- array, numbers of every form, strings needing escapes, empty containers, nesting.
SELECT pg_temp.keep('insert', user_upsert.user_upsert(jsonb_build_object(
  'fid', 1, 'username', 'ann', 'display_name', E'Ann "the" \\ \u00e9\u4e2d\U0001F600 ',
  'wallets', jsonb_build_array('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB'),
  'external', jsonb_build_object('clerk', 'user_1'),
  'attrs', (SELECT jsonb_object_agg('k' || g, g) FROM generate_series(1, 40) g)
    || jsonb_build_object('list', (SELECT jsonb_agg(CASE WHEN g % 3 = 0 THEN to_jsonb(g) WHEN g % 3 = 1 THEN to_jsonb('s' || g) ELSE 'null'::jsonb END) FROM generate_series(1, 70) g))
    || '{"n": [0, -1, 1.50, -0.0, 1e30, 1e-30, 12345678901234567890, -9223372036854775808, 3.14159265358979323846],
         "b": [true, false, null], "e": {}, "a": [], "s": "", "deep": {"x": [[{"y": [[]]}]]},
         "": "empty key", "aa": 1, "a\"b\u00e9": null}'::jsonb)));
SELECT pg_temp.keep('update', user_upsert.user_upsert('{"fid": 1, "attrs": {"k1": {"z": 1, "a": 2, "mm": [3]}, "k2": null}}'));
SELECT pg_temp.keep('unchanged', user_upsert.user_upsert('{"fid": 1, "username": "ann"}'));
SELECT pg_temp.keep('ensure', user_upsert.user_ensure('{"fid": 1}'));
SELECT pg_temp.keep('ensure insert', user_upsert.user_ensure('{"fid": 2, "attrs": {"b": 1, "a": 2}}'));
SELECT pg_temp.keep('lookup', user_upsert.user_lookup('fid', '1'));
SELECT pg_temp.keep('to merge', user_upsert.user_upsert('{"agent_id": "agent-5", "wallets": ["0x1111111111111111111111111111111111111111"], "attrs": {"from": "agent"}}'));
SELECT pg_temp.keep('merge', user_upsert.user_upsert('{"fid": 1, "agent_id": "agent-5", "policy": "merge"}'));
SELECT pg_temp.keep('skip', user_upsert.user_upsert('{"fid": 3, "wallets": ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"], "conflicts": "skip"}'));
SELECT pg_temp.keep('many #' || ordinality, r)
  FROM user_upsert.user_upsert_many('[{"fid": 4, "attrs": {"x": [1, {"b": 2, "a": 1}]}}, {"fid": -1}, {"fid": 4, "username": "dee"}, 7]') WITH ORDINALITY r;
SELECT pg_temp.keep('clerk', user_upsert.user_upsert_from('clerk', '{"id": "user_9", "username": "nine", "first_name": "Nine", "last_name": null,
  "primary_email_address_id": "e1", "email_addresses": [{"id": "e1", "email_address": "Nine@Example.com"}],
  "public_metadata": {"plan": "pro", "seats": 3, "tags": ["a", "b"]}, "updated_at": 1700000000000}'));
SELECT pg_temp.keep('event', user_upsert.user_apply_event('{"type": "user.updated", "data": {"id": "user_9", "username": "nines", "updated_at": 1700000001000}}', 'evt_1'));
SELECT pg_temp.keep('event again', user_upsert.user_apply_event('{"type": "user.updated", "data": {"id": "user_9", "username": "nines", "updated_at": 1700000001000}}', 'evt_1'));
SELECT pg_temp.keep('event deleted', user_upsert.user_apply_event('{"type": "user.deleted", "timestamp": 1700000002000, "data": {"id": "user_9", "deleted": true}}', 'evt_2'));

-- Timestamps as to_jsonb() spells them, in any session time zone: at a fixed offset the
-- extension spells them itself, otherwise PostgreSQL does.
SELECT pg_temp.keep('observed ' || o, user_upsert.user_upsert(jsonb_build_object('fid', 100 + n, 'observed_at', o)))
  FROM unnest(ARRAY['2026-01-01T00:00:00Z', '2026-01-01T00:00:00.1Z', '1999-12-31T23:59:59.999999-08:00',
                    '0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999999Z', '2024-02-29T12:00:00.000001+05:45']) WITH ORDINALITY AS t(o, n);
CREATE FUNCTION pg_temp.spelled_like_to_jsonb() RETURNS text LANGUAGE sql AS $$
  SELECT count(*) || ' users, ' || count(*) FILTER (WHERE
           d->>'observed_at' IS DISTINCT FROM to_jsonb(u.observed_at) #>> '{}' OR
           d->>'created_at' IS DISTINCT FROM to_jsonb(u.created_at) #>> '{}' OR
           d->>'updated_at' IS DISTINCT FROM to_jsonb(u.updated_at) #>> '{}') || ' spelled otherwise'
    FROM user_upsert.users u, user_upsert.user_lookup('id', u.id::text) d
   WHERE u.merged_into IS NULL AND u.deleted_at IS NULL $$;
SET TimeZone = 'UTC';
SELECT pg_temp.spelled_like_to_jsonb() AS utc;
SET TIME ZONE INTERVAL '+05:45' HOUR TO MINUTE;
SELECT pg_temp.spelled_like_to_jsonb() AS plus_0545;
SET TimeZone = 'Etc/GMT+8';
SELECT pg_temp.spelled_like_to_jsonb() AS minus_8;
SET TimeZone = 'America/St_Johns';
SELECT pg_temp.spelled_like_to_jsonb() AS st_johns;
SET TimeZone = 'Africa/Monrovia';
SELECT pg_temp.spelled_like_to_jsonb() AS monrovia;
SET TIME ZONE INTERVAL '-00:01' HOUR TO MINUTE;
SELECT pg_temp.spelled_like_to_jsonb() AS minus_1_minute_year_1_bc;
RESET TimeZone;

-- Each answer's bytes against PostgreSQL's encoding of its text; every label listed once.
SELECT label, coalesce(doc->>'action', doc->'error'->>'sqlstate') AS answer, doc::bytea = (doc::text)::jsonb::bytea AS same_bytes
  FROM answers ORDER BY label;
-- What the comparison sees: header, JEntries, keys shorter first, then the values.
SELECT '{"bb": "x", "a": 2}'::jsonb::bytea AS layout;
-- Lookups by key inside the answers work (binary search over the sorted keys).
SELECT doc->'user'->>'fid' AS fid, doc->'user'->'attrs'->'k40' AS k40, doc->'user'->'attrs'->'list'->69 AS last,
       doc->'user'->'attrs'->'n'->6 AS big, doc->'user'->'attrs'->>'' AS empty_key
  FROM answers WHERE label = 'insert';
DROP CAST (jsonb AS bytea);
DROP EXTENSION user_upsert;
