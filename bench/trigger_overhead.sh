#!/usr/bin/env bash
# Does user_upsert() cost more with the direct-SQL triggers installed?
# Runs the update path and the insert path with the extension's triggers
# enabled and disabled (ALTER TABLE … DISABLE TRIGGER), alternating, in one
# throwaway cluster with synchronous_commit = off, and prints tps medians and
# the ratio enabled / disabled. As root it re-runs itself as postgres.
# Usage: bench/trigger_overhead.sh   (TRIG_SECONDS=10 TRIG_RUNS=3 TRIG_CLIENTS=2)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" = 0 ]; then
	copy=$(mktemp -d /tmp/uu-trig.XXXXXX)
	cp -r "$here/../scripts" "$here" "$copy/"
	chown -R postgres: "$copy"
	trap 'rm -rf "$copy"' EXIT
	runuser -u postgres --preserve-environment -- bash "$copy/bench/trigger_overhead.sh"
	exit
fi
seconds=${TRIG_SECONDS:-10}
runs=${TRIG_RUNS:-3}
clients=${TRIG_CLIENTS:-2}
source "$here/../scripts/cluster.sh"
cluster_start "${TRIG_PORT:-54370}"
echo "synchronous_commit = off" >>"$CLUSTER_DIR/data/postgresql.conf"
"$BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" reload >/dev/null
work=$CLUSTER_DIR/work
mkdir -p "$work"
psql -qX -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
CREATE EXTENSION user_upsert;
SELECT count(user_upsert.user_upsert(jsonb_build_object('fid', g, 'display_name', 'x'))) FROM generate_series(1, 10000) g;
CREATE SEQUENCE new_fid START 1000000;
ANALYZE;
SQL
cat >"$work/update.sql" <<'SQL'
\set n random(1, 10000)
\set r random(1, 1000000000)
SELECT user_upsert.user_upsert(jsonb_build_object('fid', :n::bigint, 'display_name', 'name ' || :r));
SQL
cat >"$work/insert.sql" <<'SQL'
SELECT user_upsert.user_upsert(jsonb_build_object('fid', nextval('new_fid'), 'display_name', 'new'));
SQL
set_triggers() {
	psql -qX -v ON_ERROR_STOP=1 -c "ALTER TABLE user_upsert.users $1 TRIGGER users_identities_before" \
		-c "ALTER TABLE user_upsert.users $1 TRIGGER users_identities_after_insert" \
		-c "ALTER TABLE user_upsert.users $1 TRIGGER users_merge_after_update" \
		-c "ALTER TABLE user_upsert.identities $1 TRIGGER identities_mirror_before"
}
tps() {
	pgbench -n -M prepared -c "$clients" -j "$clients" -T "$seconds" -f "$work/$1.sql" 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for path in update insert; do
	: >"$work/$path.on"
	: >"$work/$path.off"
	for run in $(seq "$runs"); do
		set_triggers ENABLE
		tps "$path" >>"$work/$path.on"
		set_triggers DISABLE
		tps "$path" >>"$work/$path.off"
	done
	set_triggers ENABLE
	on=$(median <"$work/$path.on")
	off=$(median <"$work/$path.off")
	printf '%-7s path: triggers enabled %8.0f tps, disabled %8.0f tps (medians of %s runs, %s clients, %ss): ratio %.3f\n' \
		"$path" "$on" "$off" "$runs" "$clients" "$seconds" "$(echo "$on / $off" | bc -l)"
done
