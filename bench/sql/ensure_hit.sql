\set n random(1, :nusers)
SELECT user_upsert.user_ensure(jsonb_build_object('fid', :n::bigint));
