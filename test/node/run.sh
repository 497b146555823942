#!/usr/bin/env bash
# test/node/run.sh: the real-client test. Replays the seeds' flows through
# node-postgres (the `pg` package, pinned in package.json and
# package-lock.json, installed here by `npm ci` from the npm registry) with a
# pool of concurrent TCP connections: seeds.test.mjs, under node's built-in
# test runner.
#
# Installs the client (npm ci, with a private npm cache), starts a throwaway
# cluster (scripts/cluster.sh) listening on 127.0.0.1, creates the extension,
# runs `node --test`, checks the server log for crashes, and exits non-zero on
# any failure. The cluster and the npm cache are always removed.
#
# Runs as a non-root user (initdb refuses root); scripts/test.sh calls it as
#   runuser -u postgres -- bash test/node/run.sh
# Needs node (>= 18) and npm, the extension installed (make install), and a
# writable test/node (node_modules is created there).
#
# Environment:
#   UU_NODE_PORT   port of the throwaway cluster (default 54360)
#   UU_NODE_POOL   connections in the client's pool (default 16)
#   UU_NODE_SEED   seed of the test's random schedule (default random, printed)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
port=${UU_NODE_PORT:-54360}

if [ "$(id -u)" = 0 ]; then
	echo "run.sh: run as a non-root user (initdb refuses root), e.g. runuser -u postgres -- bash $0" >&2
	exit 2
fi
for tool in node npm; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (Node.js >= 18 with npm is needed)" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/uu-node.XXXXXX")
source "$here/../../scripts/cluster.sh"
cleanup() {
	local rc=$?
	cluster_stop
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "node test: node $(node --version), npm $(npm --version 2>/dev/null)"
# A private cache and no user config: the same install whoever runs it.
: >"$tmp/npmrc"
(cd "$here" && npm_config_cache="$tmp/npm-cache" npm_config_userconfig="$tmp/npmrc" \
	npm_config_update_notifier=false npm ci --no-audit --no-fund --loglevel=error)
echo "pg $(node -p 'require(process.argv[1]).version' "$here/node_modules/pg/package.json") installed by npm ci"

cluster_start "$port"
trap cleanup EXIT # cluster_start registered cluster_stop alone
psql -qX -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION user_upsert'

set +e
(cd "$here" && PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres \
	node --test --test-reporter=spec seeds.test.mjs)
rc=$?
set -e

# The server: no crash, no assertion, no internal error.
if grep -E 'PANIC|TRAP:|was terminated by signal|server process .* exited with exit code [^0]|XX000' \
	"$CLUSTER_DIR/server.log" >/dev/null; then
	echo "FAIL: the server log shows a crash or an internal error:"
	grep -E 'PANIC|TRAP:|terminated by signal|exited with exit code|XX000' "$CLUSTER_DIR/server.log" | head -n 20
	rc=1
fi
if [ "$rc" != 0 ]; then
	echo "server log (last 30 lines):"
	tail -n 30 "$CLUSTER_DIR/server.log"
	echo "node test: FAIL"
	exit 1
fi
echo "node test: PASS"
