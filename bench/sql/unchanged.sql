\set n random(1, :nusers)
SELECT @FN@(jsonb_build_object('fid', :n::bigint, 'username', 'user' || :n));
