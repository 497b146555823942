-- Run by a second pgbench with its own clients: SERIALIZABLE transactions,
-- where 40001 is allowed inside the call and at COMMIT (pgbench counts the
-- latter as serialization failures).
\set fid random(1, 50)
\set w random(1, 60)
\set x random(1, 1000)
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT stress.try_snapshot('serializable', jsonb_build_object('wallets', jsonb_build_array(stress.w(:w::int)), 'display_name', 'ser' || :x::int, 'attrs', jsonb_build_object('s', :x::int)));
COMMIT;
