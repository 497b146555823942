-- Seed 002: get-or-create by explicit id with policy keep.
\set n random(1, 20)
\set x random(1, 1000)
SELECT stress.try('keep_id', jsonb_build_object('id', stress.id(:n::int), 'external', jsonb_build_object('acme', 'client-' || :n::int), 'policy', 'keep', 'display_name', 'client ' || :x::int));
