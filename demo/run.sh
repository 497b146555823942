#!/usr/bin/env bash
# The demo proper (see scripts/demo.sh); runs as a non-root user.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../scripts/cluster.sh"
cluster_start 54340
psql -qX -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION user_upsert' \
	-c 'CREATE TABLE clients (id text PRIMARY KEY, name text)'
q() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }

echo "== seed 002: three requests create client qg2X9STk79i at once"
echo "-- the application's way: check, then insert (a barrier holds all three between check and insert)"
q -c 'SELECT pg_advisory_lock(42)' -c 'SELECT pg_sleep(3)' >/dev/null &
barrier=$!
sleep 0.5
for n in 1 2 3; do
	(psql -qXAt -c "DO \$\$ BEGIN
	   IF NOT EXISTS (SELECT FROM clients WHERE id = 'qg2X9STk79i') THEN
	     PERFORM pg_advisory_lock_shared(42);   -- the time between check and insert
	     INSERT INTO clients VALUES ('qg2X9STk79i', 'Acme');
	     RAISE NOTICE 'created';
	   END IF; END \$\$" 2>&1 | grep -oE '(ERROR|NOTICE): .*' | sed "s/^/   request $n: /" || true) &
done
wait
echo "-- user_upsert(): the same three requests, policy keep (get-or-create), 300 times each"
cat >/tmp/uu-demo-keep-$$.sql <<'SQL'
\set n random(1, 100)
SELECT user_upsert.user_upsert(jsonb_build_object('id', md5('client' || :n::int)::uuid, 'policy', 'keep', 'display_name', 'Acme'));
SQL
pgbench -n -M prepared -c 3 -j 3 -t 300 -f /tmp/uu-demo-keep-$$.sql >/tmp/uu-demo-keep-$$.log 2>&1 ||
	{ cat /tmp/uu-demo-keep-$$.log; exit 1; }
grep -E '^number of (transactions actually processed|failed)' /tmp/uu-demo-keep-$$.log | sed 's/^/   /'
echo "   users: $(q -c 'SELECT count(*) FROM user_upsert.users') (one per client id, never a duplicate-key error)"

echo
echo "== seed 001: register-by-wallet (fid + wallet) races onboard (wallet, then fid)"
cat >/tmp/uu-demo-register-$$.sql <<'SQL'
\set n random(1, 200)
SELECT user_upsert.user_upsert(jsonb_build_object('fid', :n::int, 'wallets', jsonb_build_array('0x' || lpad(to_hex(:n::int), 40, '0')), 'username', 'user' || :n::int));
SQL
cat >/tmp/uu-demo-onboard-$$.sql <<'SQL'
\set n random(1, 200)
SELECT user_upsert.user_upsert(jsonb_build_object('wallets', jsonb_build_array('0x' || lpad(to_hex(:n::int), 40, '0')), 'display_name', 'Onboarded ' || :n::int));
SELECT user_upsert.user_upsert(jsonb_build_object('fid', :n::int, 'attrs', jsonb_build_object('onboarded', true)));
SQL
pgbench -n -M prepared -c 8 -j 2 -T 5 -f /tmp/uu-demo-register-$$.sql -f /tmp/uu-demo-onboard-$$.sql \
	>/tmp/uu-demo-race-$$.log 2>&1 || { cat /tmp/uu-demo-race-$$.log; exit 1; }
grep -E '^number of (transactions actually processed|failed)' /tmp/uu-demo-race-$$.log | sed 's/^/   /'
q -c "SELECT '   live users: ' || count(*) FILTER (WHERE merged_into IS NULL)
           || ', merged by the race: ' || count(*) FILTER (WHERE merged_into IS NOT NULL) FROM user_upsert.users WHERE fid IS NOT NULL OR merged_into IS NOT NULL OR primary_address IS NOT NULL"
q -c "SELECT '   fids with more than one user: ' || count(*) FROM (SELECT fid FROM user_upsert.users WHERE fid IS NOT NULL GROUP BY fid HAVING count(*) > 1) d"
q -c "SELECT '   users holding fid n and wallet n together: ' || count(*) FROM user_upsert.users u
       WHERE u.merged_into IS NULL AND u.primary_address = '0x' || lpad(to_hex(u.fid), 40, '0')"
q -c "SELECT '   user_verify() problems: ' || count(*) FROM user_upsert.user_verify()"

echo
echo "== seed 003: the Clerk webhook arrives late; middleware ensures the user on every request"
cat >/tmp/uu-demo-ensure-$$.sql <<'SQL'
\set n random(1, 50)
SELECT user_upsert.user_upsert(jsonb_build_object('external', jsonb_build_object('clerk', 'user_' || :n::int), 'policy', 'keep'));
SQL
cat >/tmp/uu-demo-webhook-$$.sql <<'SQL'
\set n random(1, 50)
SELECT user_upsert.user_upsert(jsonb_build_object('external', jsonb_build_object('clerk', 'user_' || :n::int), 'email', 'User' || :n::int || '@Example.com', 'observed_at', (extract(epoch FROM now()) * 1000)::bigint));
SQL
pgbench -n -M prepared -c 6 -j 2 -T 3 -f /tmp/uu-demo-ensure-$$.sql@9 -f /tmp/uu-demo-webhook-$$.sql@1 \
	>/tmp/uu-demo-clerk-$$.log 2>&1 || { cat /tmp/uu-demo-clerk-$$.log; exit 1; }
grep -E '^number of (transactions actually processed|failed)' /tmp/uu-demo-clerk-$$.log | sed 's/^/   /'
q -c "SELECT '   Clerk users: ' || count(DISTINCT user_id) || ' for ' || count(*) || ' Clerk ids' FROM user_upsert.identities WHERE kind = 'external'"
echo
echo "One user as the API returns it:"
q -c "SELECT jsonb_pretty(user_upsert.user_lookup('fid', '7'))"
rm -f /tmp/uu-demo-*-$$.*
