#!/usr/bin/env bash
# Where a user_upsert() call spends its time: runs PROFILE_CALLS calls of each
# path (update, unchanged, insert) in a single-user backend under valgrind
# callgrind (instruction counts: exact and immune to the noise of a shared
# machine) and prints, per path, the instructions per call grouped as parsing,
# normalization, locking, SPI (planning, executor), writing, result building.
# Only the execution of the statements and their commits are counted
# (--toggle-collect), not the backend's start or the reading of its input.
#
# Usage: bash bench/profile.sh        (about a minute per path)
# Knobs: PROFILE_CALLS (default 2000), PROFILE_PATHS (default "update unchanged
# insert native_update plpgsql_update"; the last two are references: the native
# INSERT ... ON CONFLICT of the benchmark and the PL/pgSQL implementation;
# also ensure_hit and its reference native_select), PROFILE_USERS (default 20000), PROFILE_KEEP=DIR keeps the callgrind
# files in DIR, PROFILE_PG_OPTIONS="-c name=value ..." extra server settings of
# the profiled backend (to try a setting, e.g. -c plan_cache_mode=force_generic_plan),
# BENCH_SKIP_BUILD=1 (as root: no make install).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

if [ "$(id -u)" = 0 ]; then
	if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
		bash "$repo/scripts/install-deps.sh"
		(cd "$repo" && make -s -j2 && make -s install)
	fi
	command -v valgrind >/dev/null || { apt-get install -y -qq --no-install-recommends valgrind; }
	copy=$(mktemp -d /tmp/user_upsert-profile.XXXXXX)
	cp -r "$repo/scripts" "$repo/bench" "$copy/"
	chown -R postgres: "$copy"
	trap 'rm -rf "$copy"' EXIT
	keep=${PROFILE_KEEP:-}
	if [ -n "$keep" ]; then mkdir -p "$keep" && chown postgres: "$keep"; fi
	runuser -u postgres -- bash "$copy/bench/profile.sh"
	exit
fi

command -v valgrind >/dev/null || { echo "profile: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
CALLS=${PROFILE_CALLS:-2000}
PATHS=${PROFILE_PATHS:-update unchanged insert native_update plpgsql_update}
NUSERS=${PROFILE_USERS:-20000}

source "$here/../scripts/cluster.sh"
cluster_start "${BENCH_PORT:-54359}"
export PGDATABASE=bench
q() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }
q -d postgres -c 'CREATE DATABASE bench'
q -f "$here/setup.sql" -f "$here/plpgsql_upsert.sql" >/dev/null
q -v nusers="$NUSERS" -f "$here/load.sql" >/dev/null
"$BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null

for path in $PATHS; do
	script="$CLUSTER_DIR/$path.sql"
	# Prepared statements, as pgbench -M prepared runs them: EXECUTE reuses the plan.
	case $path in
	update | unchanged | insert) echo 'PREPARE s(jsonb) AS SELECT user_upsert.user_upsert($1);' ;;
	ensure_hit) echo 'PREPARE s(bigint) AS SELECT user_upsert.user_ensure(jsonb_build_object($$fid$$, $1));' ;;
	native_select) echo 'PREPARE s(bigint) AS SELECT * FROM bench_native.users WHERE fid = $1;' ;;
	plpgsql_update) echo 'PREPARE s(jsonb) AS SELECT bench_plpgsql.user_upsert($1);' ;;
	native_update) echo 'PREPARE s(bigint, text) AS INSERT INTO bench_native.users AS u (fid, display_name) VALUES ($1, $2) ON CONFLICT (fid) DO UPDATE SET display_name = excluded.display_name, updated_at = now(), version = u.version + 1 RETURNING u.*;' ;;
	esac >"$script"
	case $path in
	update | plpgsql_update) awk -v n="$CALLS" -v u="$NUSERS" 'BEGIN { for (i = 1; i <= n; i++)
		printf "EXECUTE s(%c{\"fid\": %d, \"display_name\": \"name %d\"}%c);\n", 39, 1 + (i * 7919) % u, i, 39 }' ;;
	unchanged) awk -v n="$CALLS" -v u="$NUSERS" 'BEGIN { for (i = 1; i <= n; i++) { f = 1 + (i * 7919) % u
		printf "EXECUTE s(%c{\"fid\": %d, \"username\": \"user%d\"}%c);\n", 39, f, f, 39 } }' ;;
	insert) awk -v n="$CALLS" 'BEGIN { for (i = 1; i <= n; i++) { f = 900000000 + i
		printf "EXECUTE s(%c{\"fid\": %d, \"username\": \"user%d\", \"display_name\": \"User %d\"}%c);\n", 39, f, f, f, 39 } }' ;;
	native_update) awk -v n="$CALLS" -v u="$NUSERS" 'BEGIN { for (i = 1; i <= n; i++)
		printf "EXECUTE s(%d, %cname %d%c);\n", 1 + (i * 7919) % u, 39, i, 39 }' ;;
	ensure_hit | native_select) awk -v n="$CALLS" -v u="$NUSERS" 'BEGIN { for (i = 1; i <= n; i++)
		printf "EXECUTE s(%d);\n", 1 + (i * 7919) % u }' ;;
	*) echo "profile: unknown path $path" >&2; exit 1 ;;
	esac >>"$script"
	out="$CLUSTER_DIR/callgrind.$path"
	(cd "$CLUSTER_DIR" && valgrind --tool=callgrind --callgrind-out-file="$out" \
		--toggle-collect=PortalRun --toggle-collect=CommitTransactionCommand \
		"$BINDIR/postgres" --single ${PROFILE_PG_OPTIONS:-} -D "$CLUSTER_DIR/data" bench <"$script" >"$CLUSTER_DIR/single.$path.log" 2>&1) ||
		{ tail -20 "$CLUSTER_DIR/single.$path.log"; exit 1; }
	if grep -q 'ERROR:' "$CLUSTER_DIR/single.$path.log"; then
		grep -m3 'ERROR:' "$CLUSTER_DIR/single.$path.log" >&2
		exit 1
	fi
	callgrind_annotate --inclusive=yes --tree=calling --threshold=100 "$out" 2>/dev/null >"$out.tree"
	echo "### $path path, $CALLS calls${PROFILE_PG_OPTIONS:+ ($PROFILE_PG_OPTIONS)}"
	echo
	perl "$here/profile.pl" "$out.tree" "$CALLS"
	echo
	if [ -n "${PROFILE_KEEP:-}" ]; then cp "$out" "$out.tree" "$PROFILE_KEEP/"; fi
done
