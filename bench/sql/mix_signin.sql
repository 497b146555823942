\set n random(:base + 1, :base + :pool)
SELECT @FN@(jsonb_build_object('fid', :n::bigint, 'username', 'user' || :n));
