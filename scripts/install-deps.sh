#!/usr/bin/env bash
# Installs what a fresh machine lacks to build and test user_upsert:
# PostgreSQL 15 server headers (PGXS), Boost.Test, Node.js with npm and gdb
# when missing. Idempotent; needs root.
set -euo pipefail
need=()
dpkg -s postgresql-server-dev-15 >/dev/null 2>&1 || need+=(postgresql-server-dev-15)
dpkg -s libboost-test-dev >/dev/null 2>&1 || need+=(libboost-test-dev)
dpkg -s postgresql-15 >/dev/null 2>&1 || need+=(postgresql-15)
# the real-client test (test/node) runs the npm "pg" package
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
# test/repro replays a lock schedule by stopping a backend under gdb
command -v gdb >/dev/null 2>&1 || need+=(gdb)
if [ ${#need[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
