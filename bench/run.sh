#!/usr/bin/env bash
# The user_upsert benchmark: starts a throwaway cluster, loads people, runs
# every line listed in bench/README.md with pgbench -M prepared and a libpq
# client (app_pattern.c), prints one table per configuration
# (synchronous_commit x clients) with medians over runs, the targets of issue
# #3, and the backend-memory check. Figures and analysis: bench/RESULTS.md.
#
# Usage: make bench            (or: bash bench/run.sh)
# Knobs (environment):
#   BENCH_SECONDS   seconds per line and run            (default 3)
#   BENCH_RUNS      runs per configuration              (default 3)
#   BENCH_CLIENTS   client counts                       (default "2 8")
#   BENCH_SYNC      synchronous_commit settings         (default "on off")
#   BENCH_USERS     people loaded before the runs       (default 100000)
#   BENCH_POOL      people per merge-mix / app pool     (default 5000)
#   BENCH_RSS_CALLS user_upsert() calls of the memory check (default 100000;
#                   the 5 MB per 1M calls limit is scaled to the number)
#   BENCH_UU_SET    "name = value": ALTER FUNCTION user_upsert.user_upsert SET it
#                   for the whole run (to measure a setting, e.g.
#                   "plan_cache_mode = force_generic_plan")
#   BENCH_PL_SET    the same for bench_plpgsql.user_upsert(jsonb)
#   BENCH_QUICK=1   smoke run: 1 s per line, 1 run, 2 clients, sync off, small data
#   BENCH_SKIP_BUILD=1  as root: do not run install-deps.sh / make install
#   BENCH_PORT      port of the throwaway cluster       (default 54350)
#   BENCH_REPORT    also write the tables (markdown) to this file (default bench/out/last-run.md)
# As root it installs what is missing, builds and installs the extension, then
# runs the measurement as the postgres user (initdb refuses root). As another
# user it measures the installed extension.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

if [ "$(id -u)" = 0 ]; then
	if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
		bash "$repo/scripts/install-deps.sh"
		(cd "$repo" && make -s -j2 && make -s install)
	fi
	copy=$(mktemp -d /tmp/user_upsert-bench.XXXXXX)
	cp -r "$repo/scripts" "$repo/bench" "$copy/"
	rm -f "$copy/bench/app_pattern"
	chown -R postgres: "$copy"
	trap 'rm -rf "$copy"' EXIT
	status=0
	rev=$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)
	runuser -u postgres -- env BENCH_REPORT="$copy/report.md" BENCH_REV="$rev" bash "$copy/bench/run.sh" || status=$?
	if [ -f "$copy/report.md" ]; then
		report=${BENCH_REPORT:-$here/out/last-run.md}
		mkdir -p "$(dirname "$report")"
		cp "$copy/report.md" "$report"
		echo "(tables also written to $report)"
	fi
	exit $status
fi

if [ ! -f "$(pg_config --sharedir)/extension/user_upsert.control" ]; then
	echo "bench: user_upsert is not installed; run 'sudo make install' (or this script as root)" >&2
	exit 1
fi

if [ -n "${BENCH_QUICK:-}" ]; then
	: "${BENCH_SECONDS:=1}" "${BENCH_RUNS:=1}" "${BENCH_CLIENTS:=2}" "${BENCH_SYNC:=off}"
	: "${BENCH_USERS:=5000}" "${BENCH_POOL:=500}" "${BENCH_RSS_CALLS:=50000}"
fi
SECS=${BENCH_SECONDS:-3}
RUNS=${BENCH_RUNS:-3}
CLIENTS=${BENCH_CLIENTS:-2 8}
SYNC=${BENCH_SYNC:-on off}
NUSERS=${BENCH_USERS:-100000}
POOL=${BENCH_POOL:-5000}
RSS_CALLS=${BENCH_RSS_CALLS:-100000}
PORT=${BENCH_PORT:-54350}

source "$here/../scripts/cluster.sh"
work=$(mktemp -d /tmp/user_upsert-bench-work.XXXXXX)
cleanup() {
	cluster_stop
	rm -rf "$work"
}
cluster_start "$PORT"
trap cleanup EXIT
export PGDATABASE=bench
started=$(date +%s)
so_file="$(pg_config --pkglibdir)/user_upsert.so"
so_at_start=$(stat -c %Y "$so_file")

log() { printf '%s\n' "$*" >&2; }
q() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }

# A machine for measuring: fsync on (cluster.sh turns it off for tests), no
# checkpoint in the middle of a line, room for 8 clients.
q -d postgres -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET max_wal_size = '4GB'" \
	-c "ALTER SYSTEM SET checkpoint_timeout = '30min'" -c "SELECT pg_reload_conf()" >/dev/null
q -d postgres -c 'CREATE DATABASE bench'
log "bench: loading $NUSERS people into user_upsert, bench_plpgsql and bench_native"
q -f "$here/setup.sql" -f "$here/plpgsql_upsert.sql" >/dev/null
q -v nusers="$NUSERS" -f "$here/load.sql" >/dev/null
if [ -n "${BENCH_UU_SET:-}" ]; then
	q -c "ALTER FUNCTION user_upsert.user_upsert(jsonb) SET $BENCH_UU_SET"
fi
if [ -n "${BENCH_PL_SET:-}" ]; then
	q -c "ALTER FUNCTION bench_plpgsql.user_upsert(jsonb) SET $BENCH_PL_SET"
fi

gcc -O2 -Wall -o "$work/app_pattern" "$here/app_pattern.c" -I"$(pg_config --includedir)" \
	-L"$(pg_config --libdir)" -lpq -lpthread

# pgbench scripts: @FN@ is the upsert function of the line.
mkdir -p "$work/sql"
for f in "$here"/sql/*.sql; do
	b=$(basename "$f" .sql)
	sed 's/@FN@/user_upsert.user_upsert/' "$f" >"$work/sql/uu_$b.sql"
	sed 's/@FN@/bench_plpgsql.user_upsert/' "$f" >"$work/sql/pl_$b.sql"
done

# Optional lines (issue #3 item 6): they run once the functions exist.
has_function() { [ "$(q -c "SELECT to_regprocedure('$1') IS NOT NULL")" = t ]; }
HAS_ENSURE=0
HAS_MANY=0
has_function 'user_upsert.user_ensure(jsonb)' && HAS_ENSURE=1
has_function 'user_upsert.user_upsert_many(jsonb)' && HAS_MANY=1

results="$work/results.tsv"
: >"$results"
next_base=1
new_base() { base=$((next_base * 10000000000)); next_base=$((next_base + 1)); }

# record SYNC CLIENTS RUN LINE TPS P50 P99 ERRORS NOTES
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$results"; }

count() { q -c "SELECT count(*) FROM $1"; }

# The state the one-batch lines and the read lines start from: the tables they
# read rewritten dense (so no side pays for the dead versions, index splits and
# deeper B-trees the earlier write lines left on it), all-visible, checkpointed.
same_start() {
	q -c 'VACUUM FULL bench_native.users' -c 'VACUUM FULL user_upsert.users' -c 'VACUUM FULL user_upsert.identities' \
		-c 'VACUUM' -c 'CHECKPOINT' >/dev/null
}

# pgbench_line SYNC CLIENTS RUN LINE SCRIPT...
pgbench_line() {
	local sync=$1 clients=$2 run=$3 line=$4
	shift 4
	local files=() s
	for s in "$@"; do files+=(-f "$work/sql/$s.sql"); done
	local threads=$((clients < 2 ? clients : 2))
	local dir="$work/log/$sync-$clients-$run-$line"
	mkdir -p "$dir"
	new_base
	local notes=""
	local users0 merges0
	if [[ $line == *mix* ]]; then
		local schema=user_upsert
		[[ $line == plpgsql* ]] && schema=bench_plpgsql
		users0=$(count "$schema.users")
		merges0=$(count "$schema.merges")
	fi
	pgbench -n -M prepared -c "$clients" -j "$threads" -T "$SECS" -D nusers="$NUSERS" -D seq=0 \
		-D base="$base" -D pool="$POOL" -l --log-prefix="$dir/tx" "${files[@]}" >"$dir/out" 2>&1 || true
	local tps failed aborted
	tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$dir/out")
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$dir/out")
	aborted=$(grep -c 'aborted in command' "$dir/out" || true)
	if [ -z "$tps" ]; then
		log "bench: pgbench failed for $line:"
		sed 's/^/  /' "$dir/out" >&2
		tps=0
	fi
	if [ "$aborted" -gt 0 ]; then
		notes="$aborted client(s) aborted: $(grep -m1 -oE 'ERROR: .*' "$dir/out" | cut -c1-120)"
	fi
	if [[ $line == *mix* ]]; then
		notes="${notes:+$notes; }+$(($(count "$schema.users") - users0)) users, $(($(count "$schema.merges") - merges0)) merges"
	fi
	local p50 p99
	read -r p50 p99 < <(cat "$dir"/tx.* 2>/dev/null | awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n |
		awk '{ v[NR] = $1 } END { if (NR == 0) { print "- -"; exit }
		       i50 = int(0.50 * (NR - 1)) + 1; i99 = int(0.99 * (NR - 1)) + 1
		       printf "%.3f %.3f\n", v[i50] / 1000, v[i99] / 1000 }')
	rm -f "$dir"/tx.*
	record "$sync" "$clients" "$run" "$line" "$tps" "$p50" "$p99" "$((${failed:-0} + aborted))" "$notes"
}

# app_line SYNC CLIENTS RUN LINE MODE [POOL_BASE POOL_SIZE BATCH THREADS]
# (recorded under CLIENTS; THREADS, default CLIENTS, is how many connections run)
app_line() {
	local sync=$1 clients=$2 run=$3 line=$4 mode=$5
	local pool_base=${6:-} pool_size=${7:-$POOL} batch=${8:-} threads=${9:-$2} secs=${10:-$SECS}
	if [ -z "$pool_base" ]; then
		new_base
		pool_base=$base
	fi
	local out
	out=$("$work/app_pattern" "$mode" "host=127.0.0.1 port=$PORT dbname=bench user=postgres" "$threads" "$secs" \
		"$pool_base" "$pool_size" $batch 2>&1) || log "bench: app_pattern $mode: $out"
	local kv tps="" p50="-" p99="-" errors=0 caught=0 dups=0 states=""
	for kv in $out; do
		case $kv in
		tps=*) tps=${kv#tps=} ;;
		p50_ms=*) p50=${kv#p50_ms=} ;;
		p99_ms=*) p99=${kv#p99_ms=} ;;
		errors=*) errors=${kv#errors=} ;;
		caught=*) caught=${kv#caught=} ;;
		duplicates=*) dups=${kv#duplicates=} ;;
		states=*) states=${kv#states=} ;;
		esac
	done
	local notes
	case $mode in
	copy | many) notes="rows/s, batches of $batch${states:+; errors by SQLSTATE: $states}" ;;
	*) notes="23505 caught: $caught; registered people left on two rows: $dups; errors by SQLSTATE: $states" ;;
	esac
	record "$sync" "$clients" "$run" "$line" "${tps:-0}" "$p50" "$p99" "$errors" "$notes"
}

nsync=$(wc -w <<<"$SYNC")
nclients=$(wc -w <<<"$CLIENTS")
log "bench: $RUNS run(s) x $nclients client count(s) x $nsync synchronous_commit setting(s), ${SECS}s per line"
for sync in $SYNC; do
	q -c "ALTER SYSTEM SET synchronous_commit = $sync" -c "SELECT pg_reload_conf()" >/dev/null
	for clients in $CLIENTS; do
		for run in $(seq 1 "$RUNS"); do
			log "bench: synchronous_commit=$sync, $clients clients, run $run/$RUNS"
			q -c 'VACUUM ANALYZE' -c 'CHECKPOINT'
			pgbench_line "$sync" "$clients" "$run" floor uu_floor
			pgbench_line "$sync" "$clients" "$run" native_update uu_native_update
			pgbench_line "$sync" "$clients" "$run" native_insert uu_native_insert
			for impl in uu pl; do
				name=user_upsert
				[ $impl = pl ] && name=plpgsql
				pgbench_line "$sync" "$clients" "$run" "${name}_update" "${impl}_update"
				pgbench_line "$sync" "$clients" "$run" "${name}_insert" "${impl}_insert"
				pgbench_line "$sync" "$clients" "$run" "${name}_unchanged" "${impl}_unchanged"
				pgbench_line "$sync" "$clients" "$run" "${name}_mix" \
					"${impl}_mix_onboard" "${impl}_mix_signin" "${impl}_mix_register"
			done
			app_line "$sync" "$clients" "$run" app_pattern app
			app_line "$sync" "$clients" "$run" app_user_upsert uu
			app_line "$sync" "$clients" "$run" app_plpgsql plpgsql
			# --- hook: issue #3 item 6, lines that run once the functions exist ---
			if [ $HAS_ENSURE = 1 ]; then
				same_start
				pgbench_line "$sync" "$clients" "$run" native_select uu_native_select
				pgbench_line "$sync" "$clients" "$run" sql_document uu_sql_document
				pgbench_line "$sync" "$clients" "$run" user_ensure_hit uu_ensure_hit
			fi
			if [ $HAS_MANY = 1 ]; then
				app_line "$sync" "$clients" "$run" native_copy_batch copy 0 "$NUSERS" 100
				app_line "$sync" "$clients" "$run" user_upsert_many many 0 "$NUSERS" 100
				# Issue #6's figure: every person in one batch, one client, exactly one batch each
				# (SECONDS 0), each from the same table state: both users tables rewritten dense
				# (so that neither finds free space the earlier lines happened to leave on its
				# pages), then vacuumed (visibility map) and checkpointed. Recorded under the
				# 2-client configuration.
				if [ "$clients" = "${CLIENTS%% *}" ]; then
					same_start
					app_line "$sync" "$clients" "$run" native_copy_all copy 0 "$NUSERS" "$NUSERS" 1 0
					same_start
					app_line "$sync" "$clients" "$run" user_upsert_many_all many 0 "$NUSERS" "$NUSERS" 1 0
				fi
			fi
		done
	done
done

# Backend memory: one backend, a warm-up, then RSS_CALLS user_upsert() calls
# (a quarter inserts, a quarter unchanged, half updates), each its own
# transaction, in 5 segments; RssAnon is read after the warm-up and after each
# segment, so a step of the allocator can be told from a steady leak.
log "bench: backend memory check, $RSS_CALLS calls in one backend"
warmup=$((RSS_CALLS / 5 < 10000 ? RSS_CALLS / 5 : 10000))
segment=$((RSS_CALLS / 5))
RSS_CALLS=$((segment * 5))
read_rss="SELECT (regexp_match(pg_read_file('/proc/self/status'), 'RssAnon:\s+(\d+)'))[1],
       (regexp_match(pg_read_file('/proc/self/status'), 'VmRSS:\s+(\d+)'))[1], extract(epoch FROM clock_timestamp());"
rss=$({
	echo "$read_rss"
	new_base
	echo "CALL bench.upsert_loop($warmup, $NUSERS, $base);"
	echo "$read_rss"
	for i in 1 2 3 4 5; do
		new_base
		echo "CALL bench.upsert_loop($segment, $NUSERS, $base);"
		echo "$read_rss"
	done
} | q -F ' ')
rss_line=$(echo $rss) # (anon vm time) at start, after the warm-up, after each segment
problems=$(q -c 'SELECT count(*) FROM user_upsert.user_verify()')

elapsed=$(($(date +%s) - started))
status=0
{
	echo "# user_upsert benchmark"
	echo
	echo "- machine: $(nproc) CPU ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo) RAM; $(uname -r)"
	echo "- extension: source $(echo "${BENCH_REV:-$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)}"), installed user_upsert.so of $(date -u -r "$so_file" '+%Y-%m-%d %H:%M UTC')"
	if [ "$(stat -c %Y "$so_file")" != "$so_at_start" ]; then
		echo "- **warning: user_upsert.so was reinstalled during the run (it was of $(date -u -d "@$so_at_start" '+%H:%M UTC') at the start): the figures mix two builds**"
	fi
	echo "- server: $(q -c 'SHOW server_version'), fsync on, shared_buffers $(q -c 'SHOW shared_buffers'); client: $(pgbench --version)"
	echo "- command: BENCH_SECONDS=$SECS BENCH_RUNS=$RUNS BENCH_CLIENTS=\"$CLIENTS\" BENCH_SYNC=\"$SYNC\" BENCH_USERS=$NUSERS BENCH_POOL=$POOL BENCH_RSS_CALLS=$RSS_CALLS${BENCH_UU_SET:+ BENCH_UU_SET=\"$BENCH_UU_SET\"}${BENCH_PL_SET:+ BENCH_PL_SET=\"$BENCH_PL_SET\"} make bench"
	if [ -n "${BENCH_UU_SET:-}" ]; then
		echo "- **BENCH_UU_SET: user_upsert.user_upsert(jsonb) ran with \`SET $BENCH_UU_SET\`**"
	fi
	if [ -n "${BENCH_PL_SET:-}" ]; then
		echo "- **BENCH_PL_SET: bench_plpgsql.user_upsert(jsonb) ran with \`SET $BENCH_PL_SET\`**"
	fi
	echo "- $NUSERS people loaded; pools of $POOL people for the mix and app lines; wall time ${elapsed}s"
	echo
	perl "$here/report.pl" "$results" "$rss_line" "$RSS_CALLS" "$warmup" "$problems" || status=$?
} >"$work/report.md"
cat "$work/report.md"
report=${BENCH_REPORT:-$here/out/last-run.md}
if mkdir -p "$(dirname "$report")" 2>/dev/null && cp "$work/report.md" "$report" 2>/dev/null; then
	[ -n "${BENCH_REPORT:-}" ] || log "(tables also written to $report)"
fi
if [ "$status" != 0 ]; then
	log "bench: a correctness check failed (errors on a user_upsert() line, user_verify() problems or memory growth)"
fi
exit "$status"
