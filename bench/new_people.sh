#!/usr/bin/env bash
# One user_upsert_many() of people the table does not have yet (an import:
# every element inserts a user and links its fid), against the same rows
# written by SQL. The harness's batch line (bench/run.sh, issue #6) re-syncs
# people who exist; this is the other case. Per round, each on fresh fids and
# in its own transaction, timed by psql:
#   native      staging table, then one INSERT ... ON CONFLICT (fid) into
#               bench_native.users (the harness's reference: users only)
#   same rows   staging table, then the same INSERT into a copy of
#               user_upsert.users (same indexes, no triggers) and, for the rows
#               it inserted, the fid's row into a copy of identities (same
#               indexes, foreign key to the users copy): what the extension
#               writes, by plain SQL
#   many        one user_upsert.user_upsert_many() of the same payloads
# and prints the times and the ratios native / many and same rows / many.
#
# Usage: bash bench/new_people.sh [PEOPLE] [ROUNDS]   (defaults 100000 and 3;
# the cluster is loaded with BENCH_USERS people first, default 100000).
# As root it runs itself as the postgres user on a copy of the tree.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
if [ "$(id -u)" = 0 ]; then
	copy=$(mktemp -d /tmp/user_upsert-new-people.XXXXXX)
	cp -r "$repo/scripts" "$repo/bench" "$copy/"
	chown -R postgres: "$copy"
	trap 'rm -rf "$copy"' EXIT
	runuser -u postgres -- bash "$copy/bench/new_people.sh" "$@"
	exit
fi
people=${1:-100000} rounds=${2:-3}
nusers=${BENCH_USERS:-100000}

source "$repo/scripts/cluster.sh"
cluster_start "${NEW_PEOPLE_PORT:-54366}"
q() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }
# As the harness measures: fsync on, synchronous_commit off, no checkpoint mid-round.
q -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET synchronous_commit = off" \
	-c "ALTER SYSTEM SET max_wal_size = '4GB'" -c "ALTER SYSTEM SET checkpoint_timeout = '30min'" \
	-c "SELECT pg_reload_conf()" >/dev/null
q -c 'CREATE DATABASE bench'
export PGDATABASE=bench
q -f "$here/setup.sql" -f "$here/plpgsql_upsert.sql" >/dev/null
q -v nusers="$nusers" -f "$here/load.sql" >/dev/null
q <<'SQL'
CREATE SCHEMA same_rows;
CREATE TABLE same_rows.users (LIKE user_upsert.users INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
CREATE TABLE same_rows.identities (LIKE user_upsert.identities INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
ALTER TABLE same_rows.identities ADD FOREIGN KEY (user_id) REFERENCES same_rows.users (id) ON DELETE CASCADE;
INSERT INTO same_rows.users SELECT * FROM user_upsert.users;
INSERT INTO same_rows.identities SELECT * FROM user_upsert.identities;
VACUUM ANALYZE;
CHECKPOINT;
SQL

# timed_ms SETUP STATEMENT...: one session runs SETUP untimed, then the
# statements, and prints the sum of their times (psql's \timing)
timed_ms() {
	local setup=$1
	shift
	local args=()
	for statement in "$@"; do args+=(-c "$statement"); done
	psql -qX -v ON_ERROR_STOP=1 -c "$setup" -c '\timing on' "${args[@]}" | awk '/^Time:/ { t += $2 } END { print t }'
}

echo "new_people: $people new people per batch, $rounds rounds, $nusers loaded first"
for round in $(seq 1 "$rounds"); do
	base=$((1000000000 + round * 10000000))
	stage="CREATE TEMP TABLE stage (fid bigint, display_name text);
	       INSERT INTO stage SELECT $base + g, 'name ' || g FROM generate_series(1, $people) g;
	       ANALYZE stage;"
	native=$(timed_ms "$stage" "BEGIN" "
		INSERT INTO bench_native.users AS u (fid, display_name) SELECT s.fid, s.display_name FROM stage s ORDER BY s.fid
		ON CONFLICT (fid) DO UPDATE SET display_name = excluded.display_name, updated_at = now(), version = u.version + 1" \
		"COMMIT")
	same=$(timed_ms "$stage" "BEGIN" "
		WITH written AS (
		  INSERT INTO same_rows.users AS u (fid, display_name) SELECT s.fid, s.display_name FROM stage s ORDER BY s.fid
		  ON CONFLICT (fid) DO UPDATE SET display_name = excluded.display_name, updated_at = now(), version = u.version + 1
		  RETURNING u.id, u.fid, u.version = 1 AS inserted)
		INSERT INTO same_rows.identities (kind, value, user_id) SELECT 'fid', w.fid::text, w.id FROM written w WHERE w.inserted" \
		"COMMIT")
	many=$(timed_ms "CREATE TEMP TABLE batch AS SELECT jsonb_agg(jsonb_build_object('fid', $base + 50000000 + g,
		                 'display_name', 'name ' || g) ORDER BY g) AS payloads FROM generate_series(1, $people) g" \
		"SELECT count(*) FILTER (WHERE r ? 'error') FROM user_upsert.user_upsert_many((SELECT payloads FROM batch)) r")
	written=$(q -c "SELECT count(*) FROM user_upsert.users WHERE fid > $base + 50000000 AND fid <= $base + 50000000 + $people")
	[ "$written" = "$people" ] || { echo "new_people: user_upsert_many() wrote $written users, not $people" >&2; exit 1; }
	awk -v r="$round" -v n="$native" -v s="$same" -v m="$many" 'BEGIN {
		printf "round %d: native %.0f ms, same rows by SQL %.0f ms, user_upsert_many() %.0f ms; native / many %.2fx, same rows / many %.2fx\n",
		       r, n, s, m, n / m, s / m }'
done
q -c "SELECT count(*) AS problems FROM user_upsert.user_verify()" | sed 's/^/user_verify() problems: /'
