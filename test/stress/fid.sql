-- By fid alone: display_name, an attrs patch, a random policy.
\set fid random(1, 50)
\set p random(1, 3)
\set x random(1, 1000)
SELECT stress.try('fid', jsonb_build_object('fid', :fid::bigint, 'display_name', 'name ' || :x::int, 'attrs', jsonb_build_object('k' || (:x::int % 5), :x::int), 'policy', stress.policy(:p::int)));
