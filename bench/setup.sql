-- Benchmark schema: the extension, the PL/pgSQL comparison (plpgsql_upsert.sql,
-- loaded by run.sh), a native table and the application pattern's table, both
-- plain tables of user_upsert.users' shape (same columns, defaults, checks and
-- unique indexes; no triggers, no identities table).
CREATE EXTENSION user_upsert;
CREATE SCHEMA bench;
-- Person n's wallet; never the blocked zero or burn address. app_pattern.c's
-- wallet_of() and the pgbench scripts spell the same expression inline.
CREATE FUNCTION bench.wallet(n bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '0xab' || lpad(to_hex(n), 38, '0');

CREATE SCHEMA bench_native;
CREATE TABLE bench_native.users (LIKE user_upsert.users INCLUDING ALL);
CREATE SCHEMA bench_app;
CREATE TABLE bench_app.users (LIKE user_upsert.users INCLUDING ALL);

-- One server-side loop of user_upsert() calls, each its own transaction: the
-- backend-memory check (run.sh) reads this backend's RSS around it. A quarter
-- insert new people (fids from `base` up), a quarter are unchanged, half update.
CREATE PROCEDURE bench.upsert_loop(calls bigint, nusers bigint, base bigint)
LANGUAGE plpgsql AS $$
DECLARE
    i bigint;
    n bigint;
    r jsonb;
BEGIN
    FOR i IN 1 .. calls LOOP
        n := 1 + (i * 7919) % nusers;
        IF i % 4 = 0 THEN
            r := user_upsert.user_upsert(jsonb_build_object(
                'fid', base + i, 'wallets', jsonb_build_array(bench.wallet(base + i)), 'username', 'user' || i));
        ELSIF i % 4 = 1 THEN
            r := user_upsert.user_upsert(jsonb_build_object('fid', n, 'username', 'user' || n));
        ELSE
            r := user_upsert.user_upsert(jsonb_build_object(
                'fid', n, 'display_name', 'name ' || i, 'attrs', jsonb_build_object('n', i % 5)));
        END IF;
        COMMIT;
    END LOOP;
END $$;
