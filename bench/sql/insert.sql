\set seq :seq + 1
\set fid :base + :client_id * 100000000 + :seq
SELECT @FN@(jsonb_build_object('fid', :fid::bigint, 'username', 'user' || :fid, 'display_name', 'User ' || :fid));
