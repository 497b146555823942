#!/usr/bin/env bash
# Two builds of the extension compared by alternating them on one cluster:
# each round runs, for each build in turn, a 3 s pgbench line of the native
# reference and then a 3 s line of the extension's call (same scripts as the
# harness, bench/sql/). Prints every pair and, per build, the mean throughput
# of the extension's line and the mean ratio. On a shared 2-core machine the
# harness's figures move by ±20 % from run to run; alternating the builds
# round by round lets the drift hit both alike.
#
# Usage (as root: the installed .so is swapped between lines, atomically;
# each pgbench line opens new backends, which load the build installed then):
#   bash bench/alternate.sh OLD.so NEW.so PAIR [ROUNDS] [CLIENTS]
#     PAIR     ensure (plain SELECT by fid, user_ensure() hit),
#              update (native INSERT ... ON CONFLICT update, user_upsert() update),
#              insert (native insert, user_upsert() insert)
#     ROUNDS   default 6;  CLIENTS default 2
# Knobs: ALTERNATE_USERS (people loaded, default 100000), ALTERNATE_PORT
# (default 54362). Needs the extension's SQL installed (make install); leaves
# NEW.so installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "alternate: run as root (it swaps the installed .so)" >&2; exit 1; }
[ $# -ge 3 ] || { sed -n '10,18p' "$0" >&2; exit 1; }
old=$(realpath "$1") new=$(realpath "$2") pair=$3 rounds=${4:-6} clients=${5:-2}
nusers=${ALTERNATE_USERS:-100000} port=${ALTERNATE_PORT:-54362}
case $pair in
ensure) reference=native_select extension=ensure_hit ;;
update) reference=native_update extension=update ;;
insert) reference=native_insert extension=insert ;;
*) echo "alternate: PAIR is ensure, update or insert" >&2; exit 1 ;;
esac
bindir=$(pg_config --bindir)
libdir=$(pg_config --pkglibdir)

work=$(mktemp -d /tmp/user_upsert-alternate.XXXXXX)
chown postgres: "$work"
as_pg() { runuser -u postgres -- "$@"; }
install_so() { cp "$1" "$libdir/user_upsert.so.tmp" && mv "$libdir/user_upsert.so.tmp" "$libdir/user_upsert.so"; }
stop() {
	as_pg "$bindir/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap stop EXIT

install_so "$old"
as_pg "$bindir/initdb" -D "$work/data" -A trust -U postgres --no-sync >"$work/initdb.log"
cat >>"$work/data/postgresql.conf" <<CONF
listen_addresses = ''
port = $port
unix_socket_directories = '$work'
synchronous_commit = off
CONF
as_pg "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w start >/dev/null
q() { as_pg "$bindir/psql" -h "$work" -p "$port" -qXAt -v ON_ERROR_STOP=1 "$@"; }
q -d postgres -c 'CREATE DATABASE bench'
cp "$here/setup.sql" "$here/plpgsql_upsert.sql" "$here/load.sql" "$work/"
for s in "$reference" "$extension"; do
	sed 's/@FN@/user_upsert.user_upsert/' "$here/sql/$s.sql" >"$work/$s.sql"
done
chown postgres: "$work"/*.sql
q -d bench -f "$work/setup.sql" -f "$work/plpgsql_upsert.sql" >/dev/null
q -d bench -v nusers="$nusers" -f "$work/load.sql" >/dev/null
q -d bench -c 'VACUUM ANALYZE' -c 'CHECKPOINT'

base=1000000000000
line() {
	base=$((base + 10000000000)) # insert lines: fids no earlier line used
	as_pg "$bindir/pgbench" -h "$work" -p "$port" -n -M prepared -c "$clients" -j "$clients" -T 3 \
		-D nusers="$nusers" -D seq=0 -D base="$base" -f "$work/$1.sql" bench 2>&1 | awk '/^tps/ { print int($3) }'
}

echo "alternate: $pair, $rounds rounds, $clients clients, $nusers people; $old against $new"
for round in $(seq 1 "$rounds"); do
	for so in "$old" "$new"; do
		install_so "$so"
		ref=$(line "$reference")
		ext=$(line "$extension")
		echo "$(basename "$so") $reference $ref $extension $ext ratio $(awk -v a="$ext" -v b="$ref" 'BEGIN { printf "%.3f", a / b }')"
	done
done | tee "$work/pairs"
awk '{ n[$1]++; tps[$1] += $5; r[$1] += $7 }
     END { for (k in n) printf "%s: mean %d tps, mean ratio %.3f (%d rounds)\n", k, tps[k] / n[k], r[k] / n[k], n[k] }' "$work/pairs"
