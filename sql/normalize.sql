-- Identity normalization (DESIGN.md section 3), seen through the stored
-- rows: EVM addresses lowercased (EIP-55 checked for mixed case), Solana
-- kept as given, whitespace trimmed, email and provider lowercased, a fid
-- string equal to the number. Every spelling of one identity reaches the
-- same user.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_upsert CASCADE;
CREATE EXTENSION user_upsert;
RESET client_min_messages;

CREATE TEMP TABLE results (label text PRIMARY KEY, r jsonb NOT NULL);
CREATE FUNCTION pg_temp.up(label text, p jsonb) RETURNS text LANGUAGE sql AS $$
	INSERT INTO results VALUES (label, user_upsert.user_upsert(p)) RETURNING r->>'action'
$$;
-- Which earlier call's user a result is about.
CREATE FUNCTION pg_temp.who(doc jsonb) RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(min(label), 'new') FROM results
	 WHERE doc->>'action' <> 'inserted' AND results.r->>'action' = 'inserted'
	   AND results.r->'user'->>'id' = doc->'user'->>'id'
$$;

-- 1. EVM: the EIP-55 test vectors (all caps, all lower, checksummed) are
-- stored in lowercase; the other spellings of each reach the same user.
SELECT v.n, v.address, pg_temp.up('evm ' || v.n, jsonb_build_object('wallets', jsonb_build_array(v.address))) AS action
  FROM (VALUES (1, '0x52908400098527886E0F7030069857D2E4169EE7'),
               (2, '0x8617E340B3D01FA5F11F306F4090FD50E238070D'),
               (3, '0xde709f2102306220921060314715629080e2fb77'),
               (4, '0x27b1fdb04752bbc536007a920d24acb045561c26'),
               (5, '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'),
               (6, '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359'),
               (7, '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB'),
               (8, '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb')) AS v(n, address)
 ORDER BY v.n;
SELECT label, r->'user'->>'primary_address' AS primary_address, r->'user'->'wallets' AS wallets
  FROM results ORDER BY label;
SELECT s.spelling, v.n, r->>'action' AS action, pg_temp.who(r) AS who
  FROM (SELECT n, r->'user'->>'primary_address' AS lower FROM results, LATERAL (SELECT substr(label, 5)::int) AS x(n)
         WHERE label LIKE 'evm %') AS v
 CROSS JOIN LATERAL (VALUES ('lower', v.lower), ('upper', '0x' || upper(substr(v.lower, 3))),
                            ('padded', E' \t' || v.lower || E'\n')) AS s(spelling, address)
 CROSS JOIN LATERAL user_upsert.user_upsert(jsonb_build_object('wallets', jsonb_build_array(s.address))) AS r
 ORDER BY v.n, s.spelling;
-- one letter's case flipped breaks each checksum
DO $$
DECLARE
	v text;
	flipped text;
	i int;
BEGIN
	FOREACH v IN ARRAY ARRAY['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
	                         '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB', '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb'] LOOP
		FOR i IN 3 .. 42 LOOP
			CONTINUE WHEN substr(v, i, 1) !~ '[a-fA-F]';
			flipped := overlay(v PLACING CASE WHEN substr(v, i, 1) ~ '[a-f]' THEN upper(substr(v, i, 1))
			                                  ELSE lower(substr(v, i, 1)) END FROM i FOR 1);
			BEGIN
				PERFORM user_upsert.user_upsert(jsonb_build_object('wallets', jsonb_build_array(flipped)));
				RAISE NOTICE '% was accepted', flipped;
			EXCEPTION WHEN invalid_parameter_value THEN
				NULL;
			END;
		END LOOP;
	END LOOP;
	RAISE NOTICE 'every single-letter case flip of the four checksummed vectors was refused';
END $$;

-- 2. Solana: base58 is case-sensitive, so the address is stored as given and
-- two addresses differing only in case are two identities.
SELECT pg_temp.up('sol ' || v.n, jsonb_build_object('wallets', jsonb_build_array(v.address))) AS action, v.address
  FROM (VALUES (1, 'So11111111111111111111111111111111111111112'),
               (2, 'so11111111111111111111111111111111111111112'),
               (3, 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v'),
               (4, 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1V'),
               (5, '11111111111111111111111111111112')) AS v(n, address)
 ORDER BY v.n;
SELECT to_jsonb(s.address) AS address, r->>'action' AS action, pg_temp.who(r) AS who,
       r->'user'->>'primary_address' AS primary_address
  FROM (VALUES (1, E'\tSo11111111111111111111111111111111111111112 '),
               (2, 'so11111111111111111111111111111111111111112'),
               (3, E'\nEPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1V\r\n')) AS s(n, address)
 CROSS JOIN LATERAL user_upsert.user_upsert(jsonb_build_object('wallets', jsonb_build_array(s.address))) AS r
 ORDER BY s.n;

-- 3. Surrounding ASCII whitespace (space, \t, \n, \r, \f, \v) is trimmed for
-- every kind; the other attributes are text, stored exactly as given.
SELECT pg_temp.up('spaces', '{
    "fid": " \t42\n",
    "wallets": [" 0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAEE\u000b", "\f4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T\r"],
    "primary_address": "\n4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T ",
    "agent_id": "\t agent:007/x@y.z-_ \n",
    "external": {" GitHub\t": "\nUser_ABC ", "\u000bCLERK": " user_2abc:Def "},
    "email": " \t Alice.Smith+Tag@Example.COM \r\n",
    "username": "  spaced  ", "display_name": " Display ", "avatar_url": " https://img.example/A.png "}') AS action;
SELECT u.fid, u.primary_address, u.agent_id, u.kind, u.email,
       '"' || u.username || '"' AS username, '"' || u.display_name || '"' AS display_name,
       '"' || u.avatar_url || '"' AS avatar_url
  FROM results, user_upsert.users u WHERE label = 'spaces' AND u.id = (r->'user'->>'id')::uuid;
SELECT i.kind, i.value FROM results, user_upsert.identities i
 WHERE label = 'spaces' AND i.user_id = (r->'user'->>'id')::uuid ORDER BY i.kind, i.value;
SELECT ((r->'user') - 'wallets'::text - 'external'::text) = to_jsonb(u) AS document_is_row,
       r->'user'->'external' AS external, r->'user'->'wallets' AS wallets
  FROM results, user_upsert.users u WHERE label = 'spaces' AND u.id = (r->'user'->>'id')::uuid;

-- 4. Every spelling reaches the same user: fid as a string or a number,
-- providers in any case, addresses in any accepted case, padded values.
SELECT s.payload, r->>'action' AS action, pg_temp.who(r) AS who, r->'user'->>'version' AS version
  FROM (VALUES (1, '{"fid": 42}'),
               (2, '{"fid": "42"}'),
               (3, '{"external": {"github": "User_ABC"}}'),
               (4, '{"external": {"GITHUB": "User_ABC"}}'),
               (5, '{"external": {"clerk": "user_2abc:Def"}}'),
               (6, '{"agent_id": "agent:007/x@y.z-_"}'),
               (7, '{"wallets": ["0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaee"]}'),
               (8, '{"primary_address": "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"}'),
               (9, '{"fid": 42, "email": "ALICE.SMITH+TAG@EXAMPLE.COM"}'),
               (10, '{"fid": 42, "external": {"Clerk": "user_2abc:Def", "cLeRk": "user_2abc:Def"}}')) AS s(n, payload)
 CROSS JOIN LATERAL user_upsert.user_upsert(s.payload::jsonb) AS r
 ORDER BY s.n;
-- a subject's case matters: another subject is another identity
SELECT r->>'action' AS action, pg_temp.who(r) AS who, r->'user'->'external' AS external
  FROM user_upsert.user_upsert('{"external": {"github": "user_abc"}}') AS r;

-- 5. Email is an attribute, lowercased; it never matches users (4.6).
SELECT r->>'action' AS action, pg_temp.who(r) AS who, r->'user'->>'email' AS email
  FROM user_upsert.user_upsert('{"fid": 43, "email": "alice.smith+tag@example.com"}') AS r;
SELECT email, count(*) AS users FROM user_upsert.users WHERE email IS NOT NULL GROUP BY email;

-- The stored identities, all normalized.
SELECT kind, value FROM user_upsert.identities ORDER BY kind, value;
SELECT count(*) AS wallets_not_normalized FROM user_upsert.identities
 WHERE kind = 'wallet' AND value LIKE '0x%' AND value <> lower(value);

SET client_min_messages = warning;
DROP EXTENSION user_upsert CASCADE;
RESET client_min_messages;
