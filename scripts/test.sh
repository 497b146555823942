#!/usr/bin/env bash
# Runs every test of user_upsert on this machine, from a fresh clone:
#   unit tests (Boost.Test under ASan/UBSan), pg_regress, isolation specs,
#   dump/restore round trip, the concurrent stress run, a lock schedule
#   replayed under gdb (test/repro) and the real-client test (Node.js with the
#   pg package, test/node).
# Each part that needs a server starts its own throwaway cluster.
# Usage: scripts/test.sh [unit|regress|dump|stress|repro|node|all]   (default all)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
what=${1:-all}

if [ "$(id -u)" = 0 ]; then
	bash scripts/install-deps.sh
fi

step() { printf '\n==== %s\n' "$*"; }
failures=0
fail() { echo "FAILED: $*"; failures=$((failures + 1)); }

step "build and install the extension"
make -s -j2
make -s install

if [ "$what" = all ] || [ "$what" = unit ]; then
	step "unit tests (Boost.Test, ASan/UBSan)"
	cmake -S . -B build/unit -DUU_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build/unit -j2 >/dev/null
	(cd build/unit && ctest --output-on-failure) || fail "unit tests"
fi

# initdb refuses to run as root: as root, the server-side tests run as the
# postgres user in a scratch copy of the tree it may write to.
scratch=""
as_db_user() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$what" != unit ]; then
	if [ "$(id -u)" = 0 ]; then
		scratch=$(mktemp -d /tmp/user_upsert-test.XXXXXX)
		cp -a "$root/." "$scratch/"
		rm -rf "$scratch/build" "$scratch/.git"
		chown -R postgres: "$scratch"
		trap 'rm -rf "$scratch"' EXIT
		tree=$scratch
	else
		tree=$root
	fi
fi

if [ "$what" = all ] || [ "$what" = regress ]; then
	step "pg_regress and isolation tests (temporary instances)"
	if ! as_db_user make -s -C "$tree" installcheck; then
		fail "pg_regress / isolation"
		for f in "$tree/regression.diffs" "$tree/test/isolation/regression.diffs"; do
			[ -f "$f" ] && cat "$f"
		done
	fi
fi

if [ "$what" = all ] || [ "$what" = dump ]; then
	step "pg_dump / pg_restore round trip"
	as_db_user bash "$tree/test/dump_restore.sh" || fail "dump/restore"
fi

if [ "$what" = all ] || [ "$what" = stress ]; then
	step "stress run"
	as_db_user bash "$tree/test/stress/run.sh" || fail "stress"
fi

if [ "$what" = all ] || [ "$what" = repro ]; then
	step "replayed lock schedule (gdb): test/repro/skip_locked_chain.sh"
	if [ "$(id -u)" = 0 ]; then
		rc=0
		bash "$root/test/repro/skip_locked_chain.sh" || rc=$?
		case $rc in
		0) ;;
		2) echo "SKIPPED: the schedule could not be replayed here (see above)" ;;
		*) fail "replayed lock schedule" ;;
		esac
	else
		echo "SKIPPED: needs root (gdb attaches to a server backend)"
	fi
fi

if [ "$what" = all ] || [ "$what" = node ]; then
	step "real-client test (Node.js, pg)"
	as_db_user bash "$tree/test/node/run.sh" || fail "node"
fi

echo
if [ "$failures" -gt 0 ]; then
	echo "$failures test group(s) failed"
	exit 1
fi
echo "all test groups passed"
