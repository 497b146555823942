-- Seed 001, register-by-wallet: fid and wallet in one payload. The wallet is
-- drawn near the fid so that the same pairs come back often; pairs whose
-- identities belong to two users are UU001 until merges exist (DESIGN 4.4).
\set fid random(1, 50)
\set w (:fid + random(0, 9)) % 60 + 1
\set p random(1, 3)
SELECT stress.try('register', jsonb_build_object('fid', :fid::bigint, 'wallets', jsonb_build_array(stress.w(:w::int)), 'policy', stress.policy(:p::int)));
