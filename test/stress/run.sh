#!/usr/bin/env bash
# test/stress/run.sh: concurrent stress run of user_upsert (DESIGN 5).
#
# Starts a throwaway cluster (initdb in a mktemp directory, a private port and
# socket directory, no TCP), creates the extension, and runs pgbench with many
# clients for a while on custom scripts whose payloads come from small,
# overlapping pools of identities (setup.sql). Every call goes through a
# wrapper that catches only the errors a payload deserves (UU001, UU002; and
# 40001 inside REPEATABLE READ / SERIALIZABLE transactions) and logs each
# outcome; any other error (23505, 40P01, XX000, ...) reaches pgbench and
# fails the run, and so does a transaction longer than STRESS_STALL_MS. Afterwards checks.sql verifies the invariants on the final
# rows and on the logged results. Prints a summary and PASS or FAIL; exits
# non-zero on failure. The cluster is always stopped and removed.
#
# Runs as a non-root user (initdb refuses root); scripts/test.sh calls it as
#   runuser -u postgres -- bash test/stress/run.sh
# Needs the extension installed (make install).
#
# Environment:
#   STRESS_SECONDS      duration of the pgbench run (default 30)
#   STRESS_CLIENTS      concurrent clients in all (default 8)
#   STRESS_DIRECT       1 adds direct SQL on the tables to the mix (DESIGN 6:
#                       INSERT into identities, UPDATE of users), default 1
#   STRESS_SER_CLIENTS  how many of those clients run SERIALIZABLE transactions
#                       in a second pgbench at the same time, 0 to disable
#                       (default 2; the others run the main mix)
#   STRESS_PORT         port of the throwaway cluster (default 54331)
#   STRESS_SEED         pgbench --random-seed (default: a random integer, printed)
#   STRESS_KEEP         1 keeps the cluster's directory (always kept on failure)
#   STRESS_STALL_MS     a transaction longer than this fails the run as a stall
#                       (pgbench --latency-limit; default 30000)
#   PG_CONFIG           pg_config to use (default: pg_config on PATH)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
seconds=${STRESS_SECONDS:-30}
clients=${STRESS_CLIENTS:-8}
ser_clients=${STRESS_SER_CLIENTS:-2}
port=${STRESS_PORT:-54331}
seed=${STRESS_SEED:-$(( (RANDOM << 15) | RANDOM ))}
keep=${STRESS_KEEP:-0}
direct=${STRESS_DIRECT:-1}
bindir=$("${PG_CONFIG:-pg_config}" --bindir)
if [ "$ser_clients" -ge "$clients" ]; then
	ser_clients=0
fi
main_clients=$((clients - ser_clients))

if [ "$(id -u)" = 0 ]; then
	echo "run.sh: run as a non-root user (initdb refuses root), e.g. runuser -u postgres -- bash $0" >&2
	exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/uu-stress.XXXXXX")
data=$work/data
log=$work/server.log
started=0

cleanup() {
	local rc=$?
	if [ "$started" = 1 ]; then
		"$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 ||
			"$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	if [ "$keep" = 1 ] || [ "$rc" != 0 ]; then
		echo "kept $work (server.log, pgbench*.out; the data directory holds stress.calls)"
	else
		rm -rf "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

psql_() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p "$port" -d postgres "$@"; }

echo "stress: $clients clients ($ser_clients of them serializable) for ${seconds}s, seed $seed, direct SQL $direct, cluster in $work"

"$bindir/initdb" -D "$data" -A trust -E UTF8 --locale=C --no-sync >"$work/initdb.log" 2>&1 ||
	{ cat "$work/initdb.log"; exit 1; }
"$bindir/pg_ctl" -D "$data" -l "$log" -w -o "-p $port -k $work -c listen_addresses= \
	-c max_connections=$((clients + 10)) -c fsync=off -c synchronous_commit=off \
	-c full_page_writes=off -c lc_messages=C -c log_min_messages=warning -c log_lock_waits=on \
	-c log_line_prefix='%m [%p] %e '" start >/dev/null
started=1

psql_ -c 'CREATE EXTENSION user_upsert' -f "$here/setup.sql"

# Scripts of the main run, with weights.
scripts=(
	fid.sql@4 wallet.sql@4 register.sql@4 agent.sql@3 external.sql@3 pair.sql@2
	observed.sql@2 keep_id.sql@2 clear.sql@1 blocked.sql@1 repeatable_read.sql@2 many.sql@2
)
if [ "$direct" = 1 ]; then
	scripts+=(direct_link.sql@3 direct_update.sql@3)
fi
args=()
for s in "${scripts[@]}"; do args+=(-f "$here/$s"); done

# --latency-limit: a transaction longer than that is a stall (the batch / trigger
# cycle fixed in 30791d5 held both sides ~100 s before one failed).
stall_ms=${STRESS_STALL_MS:-30000}
common=(--no-vacuum -M prepared -T "$seconds" --random-seed="$seed" --failures-detailed --verbose-errors
	--latency-limit="$stall_ms" -h "$work" -p "$port")

ser_pid=""
if [ "$ser_clients" -gt 0 ]; then
	"$bindir/pgbench" "${common[@]}" -c "$ser_clients" -j 1 -f "$here/serializable.sql" postgres \
		>"$work/pgbench-serializable.out" 2>&1 &
	ser_pid=$!
fi
jobs=$((main_clients < 2 ? main_clients : 2))
set +e
"$bindir/pgbench" "${common[@]}" -c "$main_clients" -j "$jobs" "${args[@]}" postgres >"$work/pgbench.out" 2>&1
main_rc=$?
ser_rc=0
if [ -n "$ser_pid" ]; then
	wait "$ser_pid"
	ser_rc=$?
fi
set -e

failures=()
fail() { failures+=("$*"); }

# pgbench: exit status, aborted clients, failed transactions.
field() { sed -n "s/^$2: \([0-9.]*\).*/\1/p" "$1" | head -n 1; }
report_pgbench() {
	local out=$1 rc=$2 name=$3 allow_serialization=$4
	local processed failed ser dead
	processed=$(field "$out" 'number of transactions actually processed')
	failed=$(field "$out" 'number of failed transactions')
	ser=$(field "$out" 'number of serialization failures')
	dead=$(field "$out" 'number of deadlock failures')
	printf '%-14s transactions %s, %s, failed %s (serialization %s, deadlock %s), exit %s\n' \
		"$name" "${processed:-?}" "$(grep -m1 '^tps = ' "$out" | sed 's/ (without.*//')" \
		"${failed:-?}" "${ser:-?}" "${dead:-?}" "$rc"
	[ "$rc" = 0 ] || fail "$name pgbench exited with $rc"
	grep -q 'aborted' "$out" && fail "$name: pgbench clients aborted"
	[ "${processed:-0}" -gt 0 ] 2>/dev/null || fail "$name: no transaction processed"
	[ "${dead:-1}" = 0 ] || fail "$name: deadlock failures (40P01)"
	local late
	late=$(sed -n 's/^number of transactions above the .* latency limit: \([0-9]*\)\/.*/\1/p' "$out" | head -n 1)
	[ -n "$late" ] || fail "$name: pgbench did not report the latency limit"
	[ "${late:-0}" = 0 ] || fail "$name: $late transaction(s) took longer than ${stall_ms} ms (a stall)"
	if [ "$allow_serialization" = 1 ]; then
		[ "${failed:-1}" = "${ser:-0}" ] || fail "$name: failed transactions other than serialization failures"
	else
		[ "${failed:-1}" = 0 ] || fail "$name: failed transactions"
	fi
	if grep -q 'ERROR' "$out"; then
		echo "errors reported by $name pgbench (first 10):"
		grep 'ERROR' "$out" | sort | uniq -c | sort -rn | head -n 10
	fi
}

echo
report_pgbench "$work/pgbench.out" "$main_rc" main 0
[ -n "$ser_pid" ] && report_pgbench "$work/pgbench-serializable.out" "$ser_rc" serializable 1

# A deadlock: what each process in the cycle was running. The report names
# only the top-level queries; a process still waiting at deadlock_timeout
# logs the statement it waits in (log_lock_waits), the SQL inside a function.
if grep -q ' 40P01 ERROR:  deadlock detected' "$log"; then
	echo "deadlocks in the server log, with the waits logged around them (first 60 lines):"
	grep -E -A8 ' 40P01 ERROR:  deadlock detected|still waiting for' "$log" | head -n 60
fi

# The server: no crash, no assertion, no internal error.
if grep -E 'PANIC|TRAP:|was terminated by signal|server process .* exited with exit code [^0]| XX000 ' "$log" >/dev/null; then
	fail "server log shows a crash or an internal error"
	grep -E 'PANIC|TRAP:|terminated by signal|exited with exit code| XX000 ' "$log" | head -n 20
fi

echo
echo "outcomes by script (action, or SQLSTATE of a caught error):"
psql_ -P pager=off -c "
	SELECT script, coalesce(action, sqlstate) AS outcome, count(*) AS calls
	  FROM stress.calls GROUP BY 1, 2 ORDER BY 1, 2"
psql_ -P pager=off -c "
	SELECT sqlstate, regexp_replace(message, '[0-9a-f-]{36}|0x[0-9a-f]{40}|[0-9]+', '#', 'g') AS caught_error,
	       count(*) AS calls
	  FROM stress.calls WHERE sqlstate <> '00000' GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2"
psql_ -P pager=off -c "
	SELECT count(*) FILTER (WHERE merged_into IS NULL AND deleted_at IS NULL) AS live_users,
	       count(*) FILTER (WHERE merged_into IS NOT NULL) AS tombstones,
	       (SELECT count(*) FROM user_upsert.identities) AS identities,
	       max(version) AS max_version
	  FROM user_upsert.users"

echo "invariants:"
if ! checks=$(psql_ -A -t -F '|' -f "$here/checks.sql" 2>&1); then
	echo "$checks"
	fail "checks.sql did not run"
	checks=""
fi
while IFS='|' read -r name violations example; do
	[ -n "$name" ] || continue
	if [ "$violations" = 0 ]; then
		printf '  ok    %s\n' "$name"
	else
		printf '  FAIL  %s: %s violation(s), e.g. %s\n' "$name" "$violations" "$example"
		fail "invariant: $name"
	fi
done <<<"$checks"

# >>> user_verify(): the extension's own verifier (DESIGN 7) must return no row.
if [ "$(psql_ -A -t -c "SELECT to_regprocedure('user_upsert.user_verify()') IS NOT NULL")" = t ]; then
	if ! verify=$(psql_ -A -t -F ' ' -c 'SELECT problem, user_id, detail FROM user_upsert.user_verify()' 2>&1); then
		echo "$verify"
		fail "user_verify() did not run"
	elif [ -n "$verify" ]; then
		printf '  FAIL  user_verify() is empty: %s row(s), e.g.\n' "$(wc -l <<<"$verify")"
		head -n 5 <<<"$verify" | sed 's/^/        /'
		fail "invariant: user_verify() is empty"
	else
		printf '  ok    user_verify() is empty\n'
	fi
else
	printf '  skip  user_verify() (not in this build)\n'
fi
# <<< user_verify()

echo
if [ "${#failures[@]}" -gt 0 ]; then
	for f in "${failures[@]}"; do echo "FAIL: $f"; done
	echo "seed $seed (STRESS_SEED=$seed repeats the run's random choices; timing still varies)"
	echo "stress: FAIL"
	exit 1
fi
echo "stress: PASS"
