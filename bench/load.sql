-- Loads :nusers people (fid n, wallet bench.wallet(n), username 'user<n>',
-- display_name 'User <n>') into user_upsert, bench_plpgsql and bench_native.
-- Direct writes with triggers off (session_replication_role = replica, as
-- pg_restore does): the rows are consistent by construction.
SET session_replication_role = replica;
INSERT INTO user_upsert.users (fid, primary_address, username, display_name)
SELECT n, bench.wallet(n), 'user' || n, 'User ' || n FROM generate_series(1, :nusers) n;
INSERT INTO user_upsert.identities (kind, value, user_id)
SELECT 'fid', fid::text, id FROM user_upsert.users
UNION ALL
SELECT 'wallet', primary_address, id FROM user_upsert.users;
INSERT INTO bench_plpgsql.users (fid, primary_address, username, display_name)
SELECT n, bench.wallet(n), 'user' || n, 'User ' || n FROM generate_series(1, :nusers) n;
INSERT INTO bench_plpgsql.identities (kind, value, user_id)
SELECT 'fid', fid::text, id FROM bench_plpgsql.users
UNION ALL
SELECT 'wallet', primary_address, id FROM bench_plpgsql.users;
INSERT INTO bench_native.users (fid, primary_address, username, display_name)
SELECT n, bench.wallet(n), 'user' || n, 'User ' || n FROM generate_series(1, :nusers) n;
RESET session_replication_role;
VACUUM ANALYZE;
DO $$
BEGIN
    IF EXISTS (SELECT FROM user_upsert.user_verify()) THEN
        RAISE EXCEPTION 'user_verify() reports problems after the load';
    END IF;
END $$;
