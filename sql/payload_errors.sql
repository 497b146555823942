-- Hostile and sloppy payloads (DESIGN.md 4.1, 4.5, section 3): each is
-- refused with its SQLSTATE and a message naming the field, and nothing is
-- written. The accepted neighbours of some refusals are shown too, so that a
-- limit that moved or a check that vanished shows up as a diff.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_upsert CASCADE;
CREATE EXTENSION user_upsert;
RESET client_min_messages;
-- Some payloads hold non-ASCII text and \u escapes.
SELECT getdatabaseencoding() AS encoding;

-- try(payload): the action, or the error's SQLSTATE, message, detail and hint.
CREATE FUNCTION pg_temp.try(p jsonb, OUT state text, OUT message text, OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
DECLARE
	r jsonb;
BEGIN
	r := user_upsert.user_upsert(p);
	state := 'ok';
	message := r->>'action';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
	                        detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
	detail := nullif(detail, '');
	hint := nullif(hint, '');
END $$;

-- A user the probes below can name without creating anything: under policy
-- keep a payload that reaches it is "unchanged" and writes nothing.
SELECT user_upsert.user_upsert('{"agent_id": "probe", "external": {"probe": "x"}}')->>'action' AS probe;

SELECT count(*) AS users_before FROM user_upsert.users \gset
SELECT count(*) AS identities_before FROM user_upsert.identities \gset

-- SQL NULL: the function is STRICT.
SELECT user_upsert.user_upsert(NULL) IS NULL AS strict_null;

-- 1. The payload is not an object.
SELECT c.label, t.state || ': ' || t.message AS result
  FROM (VALUES ('array',           '[]'),
               ('array of object', '[{"fid": 1}]'),
               ('string',          '"{\"fid\": 1}"'),
               ('number',          '42'),
               ('true',            'true'),
               ('json null',       'null')) AS c(label, payload)
 CROSS JOIN LATERAL pg_temp.try(c.payload::jsonb) t;

-- 2. Unknown keys, with the did-you-mean hint (or the list of valid keys,
-- abbreviated here: it grows with the contract).
SELECT c.payload AS payload, t.state || ': ' || t.message AS result,
       regexp_replace(t.hint, '^Valid keys are id, fid, .*$', 'Valid keys are id, fid, ...') AS hint
  FROM (VALUES ('{"fidd": 1}'),
               ('{"fid": 1, "wallet": []}'),
               ('{"fid": 1, "primaryAddress": null}'),
               ('{"fid": 1, "Email": "a@b.c"}'),
               ('{"fid": 1, "display-name": "x"}'),
               ('{"fid": 1, "observedAt": 1}'),
               ('{"fid": 1, "polciy": "keep"}'),
               ('{"fid": 1, "user": {"fid": 1}}'),
               ('{"fid": 1, "\"; DROP TABLE user_upsert.users; --": 1}'),
               ('{"fid": 1, "a\u0001b": 1}')) AS c(payload)
 CROSS JOIN LATERAL pg_temp.try(c.payload::jsonb) t;
-- a 1000-character key is quoted only in part
SELECT t.state || ': ' || t.message AS result,
       regexp_replace(t.hint, '^Valid keys are id, fid, .*$', 'Valid keys are id, fid, ...') AS hint
  FROM pg_temp.try(jsonb_build_object('fid', 1, repeat('k', 1000), 1)) t;

-- 3. Every key with every JSON type. The other keys reach the probe user
-- under keep, so an accepted value answers "unchanged" and writes nothing.
SELECT k.key, v.type, t.state || ': ' || t.message AS result
  FROM (VALUES (1, 'id'), (2, 'fid'), (3, 'wallets'), (4, 'primary_address'), (5, 'agent_id'),
               (6, 'external'), (7, 'email'), (8, 'username'), (9, 'display_name'), (10, 'avatar_url'),
               (11, 'kind'), (12, 'attrs'), (13, 'policy'), (14, 'observed_at')) AS k(n, key)
 CROSS JOIN (VALUES (1, 'string', '"text"'), (2, 'number', '7'), (3, 'boolean', 'true'),
                    (4, 'array', '[]'), (5, 'object', '{}'), (6, 'null', 'null')) AS v(n, type, val)
 CROSS JOIN LATERAL pg_temp.try(
        CASE WHEN k.key = 'agent_id' THEN '{"external": {"probe": "x"}}'::jsonb
             ELSE '{"agent_id": "probe"}'::jsonb END
        || '{"policy": "keep"}'::jsonb || jsonb_build_object(k.key, v.val::jsonb)) t
 ORDER BY k.n, v.n;
-- wrong types inside arrays and objects name the element
SELECT c.payload, t.state || ': ' || t.message AS result
  FROM (VALUES ('{"wallets": [1]}'),
               ('{"wallets": ["So11111111111111111111111111111111111111112", null]}'),
               ('{"wallets": [["0x52908400098527886e0f7030069857d2e4169ee7"]]}'),
               ('{"external": {"clerk": 5}}'),
               ('{"external": {"clerk": null}}'),
               ('{"external": {"clerk": ["user_1"]}}'),
               ('{"external": {"clerk": {"id": "user_1"}}}')) AS c(payload)
 CROSS JOIN LATERAL pg_temp.try(c.payload::jsonb) t;

-- 4. Deep nesting: attrs may nest 32 levels; the whole payload 64.
SELECT c.label, t.state || ': ' || t.message AS result, t.detail
  FROM (VALUES ('attrs, 32 levels', 32, 'attrs'), ('attrs, 33 levels', 33, 'attrs'),
               ('attrs, 40 levels', 40, 'attrs'), ('attrs, 100 levels', 100, 'attrs'),
               ('unknown key, 100 levels', 100, 'deep')) AS c(label, levels, key)
 CROSS JOIN LATERAL pg_temp.try(('{"agent_id": "probe", "policy": "keep", "' || c.key || '": '
                                 || repeat('{"a": ', c.levels - 1) || '{}' || repeat('}', c.levels - 1)
                                 || '}')::jsonb) t;
SELECT c.label, t.state || ': ' || t.message AS result, t.detail
  FROM (VALUES ('array, 100 levels', repeat('[', 100) || repeat(']', 100)),
               ('wallets, 100 levels', '{"wallets": ' || repeat('[', 100) || repeat(']', 100) || '}')
       ) AS c(label, payload)
 CROSS JOIN LATERAL pg_temp.try(c.payload::jsonb) t;

-- 5. Huge arrays and strings. max_wallets (50) counts distinct normalized wallets.
CREATE FUNCTION pg_temp.evm(i int) RETURNS text LANGUAGE sql
AS $$ SELECT '0x' || lpad(to_hex(i), 40, 'a') $$;
SELECT c.label, t.state || ': ' || t.message AS result, t.detail
  FROM (VALUES
    ('50 distinct wallets',
     jsonb_build_object('agent_id', 'probe', 'policy', 'keep',
                        'wallets', (SELECT jsonb_agg(pg_temp.evm(i)) FROM generate_series(1, 50) i))),
    ('50 wallets + another primary_address',
     jsonb_build_object('agent_id', 'probe', 'policy', 'keep', 'primary_address', pg_temp.evm(51),
                        'wallets', (SELECT jsonb_agg(pg_temp.evm(i)) FROM generate_series(1, 50) i))),
    ('50 wallets + one of them as primary_address',
     jsonb_build_object('agent_id', 'probe', 'policy', 'keep', 'primary_address', pg_temp.evm(7),
                        'wallets', (SELECT jsonb_agg(pg_temp.evm(i)) FROM generate_series(1, 50) i))),
    ('60 spellings of one wallet',
     jsonb_build_object('agent_id', 'probe', 'policy', 'keep',
                        'wallets', (SELECT jsonb_agg(CASE WHEN i % 2 = 0 THEN '0x' || upper(substr(pg_temp.evm(1), 3))
                                                          ELSE ' ' || pg_temp.evm(1) END)
                                      FROM generate_series(1, 60) i))),
    ('60 distinct wallets',
     jsonb_build_object('agent_id', 'probe', 'policy', 'keep',
                        'wallets', (SELECT jsonb_agg(pg_temp.evm(i)) FROM generate_series(1, 60) i))),
    ('20000 distinct wallets',
     jsonb_build_object('agent_id', 'probe', 'policy', 'keep',
                        'wallets', (SELECT jsonb_agg(pg_temp.evm(i)) FROM generate_series(1, 20000) i))),
    ('20000 numbers in wallets',
     jsonb_build_object('agent_id', 'probe', 'policy', 'keep',
                        'wallets', (SELECT jsonb_agg(i) FROM generate_series(1, 20000) i)))
  ) AS c(label, payload)
 CROSS JOIN LATERAL pg_temp.try(c.payload) t;

SELECT c.label, t.state || ': ' || t.message AS result, t.detail
  FROM (VALUES
    ('username 4096 bytes',   jsonb_build_object('username', repeat('u', 4096))),
    ('username 5000 bytes',   jsonb_build_object('username', repeat('u', 5000))),
    ('username 2000 x é',     jsonb_build_object('username', repeat('é', 2000))),
    ('username 2100 x é',     jsonb_build_object('username', repeat('é', 2100))),
    ('display_name 1 MB',     jsonb_build_object('display_name', repeat('d', 1000000))),
    ('avatar_url 5000 bytes', jsonb_build_object('avatar_url', 'https://x/' || repeat('a', 4990))),
    ('email 254 bytes',       jsonb_build_object('email', repeat('e', 244) || '@example.c')),
    ('email 255 bytes',       jsonb_build_object('email', repeat('e', 245) || '@example.c')),
    ('agent_id 128 chars',    jsonb_build_object('agent_id', repeat('a', 128))),
    ('agent_id 129 chars',    jsonb_build_object('agent_id', repeat('a', 129))),
    ('agent_id 100000 chars', jsonb_build_object('agent_id', repeat('a', 100000))),
    ('provider 32 chars',     jsonb_build_object('external', jsonb_build_object(repeat('p', 32), 's'))),
    ('provider 33 chars',     jsonb_build_object('external', jsonb_build_object(repeat('p', 33), 's'))),
    ('subject 255 chars',     jsonb_build_object('external', jsonb_build_object('clerk', repeat('s', 255)))),
    ('subject 256 chars',     jsonb_build_object('external', jsonb_build_object('clerk', repeat('s', 256)))),
    ('wallet 100000 chars',   jsonb_build_object('wallets', jsonb_build_array(repeat('1', 100000)))),
    ('evm 100000 hex digits', jsonb_build_object('wallets', jsonb_build_array('0x' || repeat('a', 100000)))),
    ('fid 100000 digits',     jsonb_build_object('fid', repeat('9', 100000)))
  ) AS c(label, payload)
 CROSS JOIN LATERAL pg_temp.try(CASE WHEN c.payload ? 'agent_id' THEN '{"external": {"probe": "x"}}'::jsonb
                                     ELSE '{"agent_id": "probe"}'::jsonb END
                                || '{"policy": "keep"}'::jsonb || c.payload) t;

-- 6. fid: integers 1 .. 9223372036854775807, as a JSON number or a string of digits.
SELECT c.fid AS fid_json, t.state || ': ' || t.message AS result, t.detail
  FROM (VALUES ('1'), ('9223372036854775807'), ('0'), ('-1'), ('9223372036854775808'),
               ('99999999999999999999999999'), ('3.0'), ('1.5'), ('0.5'), ('1e3'), ('1e-3'), ('-0'),
               ('"42"'), ('" 42 "'), ('"\t42\n"'), ('"+42"'), ('"-42"'), ('"042"'), ('"0"'), ('"4 2"'),
               ('"42.0"'), ('"1e3"'), ('"0x2a"'), ('""'), ('"   "'), ('"٤٢"'), ('"42\u0007"'),
               ('"9223372036854775807"'), ('"9223372036854775808"')) AS c(fid)
 CROSS JOIN LATERAL pg_temp.try(('{"agent_id": "probe", "policy": "keep", "fid": ' || c.fid || '}')::jsonb) t;

-- 7. Wallets: EVM (EIP-55 for mixed case) and Solana (base58, 32 bytes).
SELECT c.wallet, t.state || ': ' || t.message AS result, t.detail, t.hint
  FROM (VALUES
    ('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'),   -- EIP-55 vector
    ('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD'),   -- last letter's case flipped
    ('0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'),   -- first letter's case flipped
    ('0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed'),   -- all lower
    ('0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED'),   -- all upper
    ('0X5aaeb6053f3e94c9b9a09f33669435e7ef1beaed'),   -- 0X prefix
    ('0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea'),     -- 38 digits
    ('0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae'),    -- 39 digits
    ('0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed0'),  -- 41 digits
    ('0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg'),   -- not hex
    ('0x'),
    ('0x5aaeb6053f3e94c9b9a09f3366 435e7ef1beaed'),   -- inner space
    ('5aaeb6053f3e94c9b9a09f33669435e7ef1beaed'),     -- no prefix: not base58 either
    ('So11111111111111111111111111111111111111112'),  -- Solana, 32 bytes
    ('11111111111111111111111111111111'),             -- Solana, 32 zero bytes
    ('1111111111111111111111111111111'),              -- 31 zero bytes
    ('111111111111111111111111111111111'),            -- 33 zero bytes
    ('So1111111111111111111111111111111111111111O'),  -- O is not base58
    ('So111111111111111111111111111111111111111I2'),  -- I is not base58
    ('So111111111111111111111111111111111111111l2'),  -- l is not base58
    ('0o11111111111111111111111111111111111111112'),  -- 0 is not base58
    ('So1111111111111111111111111'),                  -- too short
    ('zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz'), -- 44 chars, more than 32 bytes
    ('zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz'), -- 45 chars
    ('So1111111111111111111111111111111111111111é'),
    ('')
  ) AS c(wallet)
 CROSS JOIN LATERAL pg_temp.try(jsonb_build_object('agent_id', 'probe', 'policy', 'keep',
                                                   'wallets', jsonb_build_array(c.wallet))) t;
-- the field is named with its index, in wallets and in primary_address
SELECT c.payload, t.state || ': ' || t.message AS result
  FROM (VALUES ('{"wallets": ["So11111111111111111111111111111111111111112", "0x1", "0x2"]}'),
               ('{"primary_address": "0x1"}'),
               ('{"primary_address": 42}'),
               ('{"primary_address": ["So11111111111111111111111111111111111111112"]}')) AS c(payload)
 CROSS JOIN LATERAL pg_temp.try(c.payload::jsonb) t;

-- 8. Control characters and other bytes the grammars forbid.
SELECT c.payload, t.state || ': ' || t.message AS result
  FROM (VALUES ('{"fid": 1, "username": "a\u0001b"}'),
               ('{"fid": 1, "username": "line\nbreak"}'),
               ('{"fid": 1, "display_name": "tab\there"}'),
               ('{"fid": 1, "avatar_url": "https://x/\u007f"}')) AS c(payload)
 CROSS JOIN LATERAL pg_temp.try(c.payload::jsonb) t;
SELECT c.payload, t.state || ': ' || t.message AS result, t.detail
  FROM (VALUES ('{"agent_id": "bot\n7"}'),
               ('{"agent_id": "bot\u00077"}'),
               ('{"agent_id": "bot 7"}'),
               ('{"agent_id": "bot\u00a07"}'),
               ('{"agent_id": "bøt"}'),
               ('{"external": {"clerk": "user\u0001"}}'),
               ('{"external": {"clerk": "user 1"}}'),
               ('{"external": {"clerk": "üser"}}'),
               ('{"external": {"cl\u001berk": "user_1"}}'),
               ('{"external": {"clerk.dev": "user_1"}}'),
               ('{"external": {"": "user_1"}}'),
               ('{"external": {"clerk": ""}}'),
               ('{"fid": 1, "email": "a\u0001@b.c"}'),
               ('{"fid": 1, "email": "a b@c.d"}'),
               ('{"fid": 1, "email": "a@b@c"}'),
               ('{"fid": 1, "email": "@b.c"}'),
               ('{"fid": 1, "email": "a@"}'),
               ('{"fid": 1, "email": "ab.c"}'),
               ('{"fid": 1, "email": ""}'),
               ('{"id": "not-a-uuid"}'),
               ('{"id": "0000000000000000000000000000000000000"}'),
               ('{"id": "{00000000-0000-0000-0000-000000000001}"}'),
               ('{"id": 1}')) AS c(payload)
 CROSS JOIN LATERAL pg_temp.try(c.payload::jsonb) t;

-- 9. SQL in every field: stored verbatim where the field's grammar allows
-- it (shown under keep, so nothing is written here), refused elsewhere.
SELECT c.key, t.state || ': ' || t.message AS result
  FROM (VALUES (1, 'id'), (2, 'fid'), (3, 'wallets'), (4, 'primary_address'), (5, 'agent_id'),
               (6, 'external'), (7, 'email'), (8, 'username'), (9, 'display_name'), (10, 'avatar_url'),
               (11, 'kind'), (12, 'attrs'), (13, 'policy'), (14, 'observed_at')) AS k(n, key)
 CROSS JOIN LATERAL (SELECT k.key, CASE k.key
        WHEN 'wallets' THEN jsonb_build_array('''; DROP TABLE user_upsert.users; --')
        WHEN 'external' THEN jsonb_build_object('clerk', ''';DROP/**/TABLE/**/user_upsert.users;--')
        WHEN 'attrs' THEN jsonb_build_object('''; DROP TABLE user_upsert.users; --', '''; --')
        WHEN 'email' THEN to_jsonb('x''OR''1''=''1--@example.com'::text)
        ELSE to_jsonb('''; DROP TABLE user_upsert.users; --'::text) END) AS c(key, val)
 CROSS JOIN LATERAL pg_temp.try(
        CASE WHEN k.key = 'agent_id' THEN '{"external": {"probe": "x"}}'::jsonb
             ELSE '{"agent_id": "probe"}'::jsonb END
        || '{"policy": "keep"}'::jsonb || jsonb_build_object(k.key, c.val)) t
 ORDER BY k.n;
SELECT t.state || ': ' || t.message AS result
  FROM pg_temp.try('{"external": {"clerk''; DROP TABLE user_upsert.users; --": "x"}}') t;

-- 10. Enumerations and observed_at.
SELECT c.payload, t.state || ': ' || t.message AS result, t.detail
  FROM (VALUES ('{"kind": null}'), ('{"kind": "robot"}'), ('{"kind": "Human"}'), ('{"kind": " agent"}'),
               ('{"kind": ""}'), ('{"policy": "upsert"}'), ('{"policy": "MERGE"}'), ('{"policy": ""}'),
               ('{"observed_at": "2026-01-01T00:00:00"}'),
               ('{"observed_at": "2026-01-01 00:00:00"}'),
               ('{"observed_at": "2026-01-01"}'),
               ('{"observed_at": "2026-02-30T00:00:00Z"}'),
               ('{"observed_at": "2025-02-29T00:00:00Z"}'),
               ('{"observed_at": "2026-13-01T00:00:00Z"}'),
               ('{"observed_at": "2026-01-01T24:00:00Z"}'),
               ('{"observed_at": "2026-01-01T00:60:00Z"}'),
               ('{"observed_at": "2026-01-01T00:00:00+24:00"}'),
               ('{"observed_at": "2026-01-01T00:00:00 UTC"}'),
               ('{"observed_at": "2026-01-01T00:00:00Z trailing"}'),
               ('{"observed_at": "0000-01-01T00:00:00Z"}'),
               ('{"observed_at": "10000-01-01T00:00:00Z"}'),
               ('{"observed_at": "yesterday"}'),
               ('{"observed_at": "now"}'),
               ('{"observed_at": "infinity"}'),
               ('{"observed_at": ""}'),
               ('{"observed_at": 1767225600000.5}'),
               ('{"observed_at": 1767225600000.0}'),
               ('{"observed_at": 1e30}'),
               ('{"observed_at": -1e30}'),
               ('{"observed_at": "1767225600000"}'),
               ('{"observed_at": true}')) AS c(payload)
 CROSS JOIN LATERAL pg_temp.try('{"agent_id": "probe", "policy": "keep"}'::jsonb || c.payload::jsonb) t;
-- accepted forms (under keep: nothing written)
SELECT c.observed_at, t.state || ': ' || t.message AS result
  FROM (VALUES ('"2026-01-01T00:00:00Z"'), ('"2026-01-01t00:00:00z"'), ('"2026-01-01 00:00:00+01:00"'),
               ('"2026-01-01T00:00:00.123456789-0530"'), ('"2024-02-29T12:00:00+00"'),
               ('"2026-01-01T00:00Z"'), ('" 2026-01-01T00:00:00Z\n"'), ('"0001-01-01T00:00:00Z"'),
               ('1767225600000'), ('0'), ('-1'), ('1e12')) AS c(observed_at)
 CROSS JOIN LATERAL pg_temp.try(('{"agent_id": "probe", "policy": "keep", "observed_at": '
                                 || c.observed_at || '}')::jsonb) t;

-- 11. external: two spellings of one provider.
SELECT c.payload, t.state || ': ' || t.message AS result, t.detail
  FROM (VALUES ('{"external": {"Clerk": "user_1", "clerk": "user_2"}}'),
               ('{"external": {"CLERK": "user_1", "clerk ": "user_2"}}'),
               ('{"external": {"Clerk": "user_1", "clerk": "user_1", "probe": "x"}, "policy": "keep"}'),
               ('{"external": {"Clerk": " user_1", "clerk": "user_1\t", "probe": "x"}, "policy": "keep"}'),
               ('{"external": {"clerk": "User_1", "Clerk": "user_1"}}')) AS c(payload)
 CROSS JOIN LATERAL pg_temp.try(c.payload::jsonb) t;

-- 12. No identity at all.
SELECT c.payload, t.state || ': ' || t.message AS result, t.hint
  FROM (VALUES ('{}'), ('{"wallets": []}'), ('{"external": {}}'), ('{"fid": null}'), ('{"id": null}'),
               ('{"agent_id": null}'), ('{"primary_address": null}'), ('{"external": null}'),
               ('{"wallets": null, "fid": null, "id": null, "agent_id": null, "external": null, "primary_address": null}'),
               ('{"email": "a@example.com", "username": "nobody", "attrs": {"fid": 1}}'),
               ('{"policy": "keep"}')) AS c(payload)
 CROSS JOIN LATERAL pg_temp.try(c.payload::jsonb) t;

-- 13. Blocked identities: UU002 wherever they appear, after normalization.
INSERT INTO user_upsert.blocked_identities (kind, value, reason) VALUES
    ('fid', '666', 'test: a banned fid'),
    ('external', 'clerk:user_banned', 'test: a banned account'),
    ('agent', 'evil-bot', 'test: a banned agent'),
    ('wallet', 'So11111111111111111111111111111111111111112', 'test: a banned Solana wallet');
SELECT c.payload, t.state || ': ' || t.message AS result, t.detail
  FROM (VALUES ('{"wallets": ["0x0000000000000000000000000000000000000000"]}'),
               ('{"wallets": ["0x52908400098527886e0f7030069857d2e4169ee7", " 0x0000000000000000000000000000000000000000 "]}'),
               ('{"primary_address": "0x0000000000000000000000000000000000000000"}'),
               ('{"primary_address": "0x000000000000000000000000000000000000DEAD"}'),
               ('{"wallets": ["0x000000000000000000000000000000000000dEaD"]}'),
               ('{"agent_id": "probe", "policy": "keep", "wallets": ["0x000000000000000000000000000000000000dead"]}'),
               ('{"fid": 666}'),
               ('{"fid": "666"}'),
               ('{"external": {"CLERK": " user_banned"}}'),
               ('{"agent_id": "evil-bot"}'),
               ('{"wallets": ["So11111111111111111111111111111111111111112"]}')) AS c(payload)
 CROSS JOIN LATERAL pg_temp.try(c.payload::jsonb) t;

-- Nothing above wrote a row: only the probe user exists.
SELECT count(*) - :users_before AS users_written,
       (SELECT count(*) FROM user_upsert.identities) - :identities_before AS identities_written
  FROM user_upsert.users;
SELECT kind, value FROM user_upsert.identities ORDER BY kind, value;

-- A subject differing in case from a blocked one is another identity.
SELECT (user_upsert.user_upsert('{"external": {"clerk": "USER_BANNED"}}')->'user'->'external') AS accepted;
DELETE FROM user_upsert.blocked_identities WHERE reason LIKE 'test:%';

-- 14. SQL text where a grammar allows it is stored verbatim.
SELECT r->>'action' AS action,
       r->'user'->>'username' AS username,
       r->'user'->>'display_name' AS display_name,
       r->'user'->>'avatar_url' AS avatar_url,
       r->'user'->>'email' AS email,
       r->'user'->'external' AS external,
       r->'user'->'attrs' AS attrs
  FROM user_upsert.user_upsert(jsonb_build_object(
           'external', jsonb_build_object('clerk', ''';DROP/**/TABLE/**/user_upsert.users;--'),
           'username', '''; DROP TABLE user_upsert.users; --',
           'display_name', 'Robert''); DROP TABLE students;--',
           'avatar_url', 'javascript:alert(1)//''"',
           'email', 'x''OR''1''=''1--@Example.com',
           'attrs', jsonb_build_object('''; DROP TABLE user_upsert.users; --', '$$; --'))) AS r;
SELECT username, display_name, avatar_url, email, attrs
  FROM user_upsert.users WHERE username LIKE '''%';
SELECT kind, value FROM user_upsert.identities WHERE value LIKE 'clerk:%' ORDER BY value;
SELECT to_regclass('user_upsert.users') IS NOT NULL AS users_table_still_there;

-- 15. Duplicate keys in the JSON text: jsonb keeps the last one.
SELECT '{"fid": 1001, "fid": 1002, "username": "first", "username": null}'::jsonb AS parsed;
SELECT r->>'action' AS action, r->'user'->'fid' AS fid, r->'user'->'username' AS username
  FROM user_upsert.user_upsert('{"fid": 1001, "fid": 1002, "username": "first", "username": null}') AS r;
SELECT count(*) AS fid_1001_linked FROM user_upsert.identities WHERE kind = 'fid' AND value = '1001';
SELECT t.state || ': ' || t.message AS result
  FROM pg_temp.try('{"fid": 1002, "kind": "human", "kind": null}') t;
SELECT r->>'action' AS action, r->'user'->>'kind' AS kind
  FROM user_upsert.user_upsert('{"fid": 1002, "kind": null, "kind": "agent"}') AS r;

SET client_min_messages = warning;
DROP EXTENSION user_upsert CASCADE;
RESET client_min_messages;
