#!/usr/bin/env bash
# Sets up user_upsert on this machine and shows it resolving the races of the
# bug reports in ../shared/seeds, in a throwaway cluster:
#   seed 002: three simultaneous "check, then insert" creates of one client
#   seed 001: register-by-wallet racing onboard for the same new user
#   seed 003: a webhook and per-request middleware creating the same Clerk user
# Usage: scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then
	bash scripts/install-deps.sh
	make -s -j2 && make -s install
	# initdb refuses root: run the demo itself as the postgres user.
	copy=$(mktemp -d /tmp/user_upsert-demo.XXXXXX)
	cp -r scripts demo "$copy/"
	chown -R postgres: "$copy"
	trap 'rm -rf "$copy"' EXIT
	runuser -u postgres -- bash "$copy/demo/run.sh"
else
	make -s -j2 && make -s install
	bash demo/run.sh
fi
