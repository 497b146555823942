-- STRESS_DIRECT=1 only. A plain INSERT into identities links a Clerk subject,
-- a second wallet or a fid to the owner of a wallet (DESIGN 6). (A colon
-- followed by a name, even inside a literal, is a pgbench variable.)
\set k random(1, 3)
\set s random(1, 30)
\set w random(1, 60)
\set w2 random(1, 60)
\set fid random(1, 50)
SELECT stress.direct_link('direct_link', CASE :k::int WHEN 1 THEN 'external' WHEN 2 THEN 'wallet' ELSE 'fid' END, CASE :k::int WHEN 1 THEN 'clerk' || ':' || 'user_' || :s::int WHEN 2 THEN stress.w(:w2::int) ELSE :fid::text END, stress.w(:w::int));
