#!/usr/bin/env bash
# skip_locked_chain.sh: replays, on demand, the one schedule behind the rare
# 40P01 of the stress run (fixed in c99ff8f; see README, "Concurrency").
#
#   T3  updates user U and stays open;
#   T2  user_upsert({fid of U, agent_id "agent-new"}) holds the identity locks
#       and locks U's row; gdb stops it inside heap_lock_tuple(), in
#       ConditionalXactLockTableWait() on T3;
#   T3  commits; T1, a direct UPDATE of U's agent_id, locks U's newest
#       version and its trigger waits for T2's identity lock;
#   T2  goes on.
# SQL's FOR UPDATE SKIP LOCKED then followed the update chain and waited for
# T1 (40P01 after deadlock_timeout); the extension's own row lock backs off,
# and T1 and T2 both succeed. Run by scripts/test.sh (as root: gdb attaches to
# a backend; the installed build is tested); exits 1 on a deadlock, 2 when the
# schedule could not be replayed (no gdb, no ptrace).
set -euo pipefail
command -v gdb >/dev/null || { echo "skip_locked_chain: needs gdb (apt-get install gdb)" >&2; exit 2; }
bindir=$(pg_config --bindir)
work=$(mktemp -d /tmp/uu-repro.XXXXXX)
chown postgres: "$work"
port=54417
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
	exec 11>&- 12>&- 13>&- 2>/dev/null || true
	as_pg "$bindir/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
as_pg "$bindir/initdb" -D "$work/data" -A trust -U postgres --no-sync >/dev/null
as_pg "$bindir/pg_ctl" -D "$work/data" -l "$work/log" -w \
	-o "-p $port -k $work -c listen_addresses=''" start >/dev/null
export PGHOST=$work PGPORT=$port PGUSER=postgres PGDATABASE=postgres
psql -qXAt -c "CREATE EXTENSION user_upsert" -c "SELECT user_upsert.user_upsert('{\"fid\": 1}')->>'action'" >/dev/null
cd "$work"
mkfifo t1.in t2.in t3.in
psql -XAt <t3.in >t3.out 2>&1 & exec 13>t3.in
psql -XAt <t2.in >t2.out 2>&1 & exec 12>t2.in
psql -XAt <t1.in >t1.out 2>&1 & exec 11>t1.in
echo "SELECT pg_backend_pid();" >&12
for _ in $(seq 50); do [ -s t2.out ] && break; sleep 0.2; done
t2_pid=$(head -1 t2.out)
echo "BEGIN; UPDATE user_upsert.users SET display_name = 't3' WHERE fid = 1;" >&13
sleep 0.5
cat >gdb.cmd <<'G'
set pagination off
handle SIGUSR1 nostop noprint pass
handle SIGALRM nostop noprint pass
break ConditionalXactLockTableWait
commands
  silent
  printf "T2 stopped in ConditionalXactLockTableWait\n"
  shell sleep 3
  delete
  continue
end
continue
G
gdb -q -batch -x gdb.cmd -p "$t2_pid" >gdb.out 2>&1 &
sleep 2
echo "SELECT user_upsert.user_upsert('{\"fid\": 1, \"agent_id\": \"agent-new\"}')->>'action';" >&12
sleep 1
echo "COMMIT;" >&13
sleep 0.3
echo "UPDATE user_upsert.users SET agent_id = 'agent-new' WHERE fid = 1;" >&11
sleep 8
exec 11>&- 12>&- 13>&-
sleep 1
grep -q "T2 stopped" gdb.out || { echo "skip_locked_chain: gdb never stopped T2 (schedule not replayed)" >&2; exit 2; }
echo "T1 (direct UPDATE): $(tr '\n' ' ' <t1.out)"
echo "T2 (user_upsert):   $(tail -n +2 t2.out | tr '\n' ' ')"
if grep -q "deadlock detected" t1.out t2.out; then
	echo "skip_locked_chain: DEADLOCK"
	exit 1
fi
echo "skip_locked_chain: no deadlock; U: $(psql -qXAt -c "SELECT agent_id || ' version ' || version FROM user_upsert.users")"
