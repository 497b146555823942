\set n random(1, :nusers)
\set r random(1, 1000000000)
INSERT INTO bench_native.users AS u (fid, display_name) VALUES (:n, 'name ' || :r)
    ON CONFLICT (fid) DO UPDATE SET display_name = excluded.display_name, updated_at = now(), version = u.version + 1
    RETURNING u.*;
