\set n random(1, :nusers)
\set r random(1, 1000000000)
SELECT @FN@(jsonb_build_object('fid', :n::bigint, 'display_name', 'name ' || :r));
