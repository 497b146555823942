-- Register-by-wallet inside a REPEATABLE READ transaction: 40001 is allowed.
\set fid random(1, 50)
\set w (:fid + random(0, 9)) % 60 + 1
\set x random(1, 1000)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT stress.try_snapshot('repeatable_read', jsonb_build_object('fid', :fid::bigint, 'wallets', jsonb_build_array(stress.w(:w::int)), 'username', 'rr' || :x::int));
COMMIT;
