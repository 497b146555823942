\set seq :seq + 1
\set fid :base + :client_id * 100000000 + :seq
INSERT INTO bench_native.users AS u (fid, username, display_name) VALUES (:fid, 'user' || :fid, 'User ' || :fid)
    ON CONFLICT (fid) DO UPDATE SET username = excluded.username, display_name = excluded.display_name,
                                    updated_at = now(), version = u.version + 1
    RETURNING u.*;
