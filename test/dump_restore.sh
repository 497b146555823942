#!/usr/bin/env bash
# dump_restore.sh
#   pg_dump / pg_restore round trip of user_upsert (DESIGN.md section 1):
#   every row of users, identities, merges and blocked_identities comes back
#   exactly, and the blocked identities the extension ships appear once.
#
#   Starts its own throwaway cluster (initdb in a mktemp directory, private
#   port and unix socket directory), so it must run as a non-root user that
#   can read the installed extension, e.g. as root:
#       runuser -u postgres -- bash test/dump_restore.sh
#   Environment: PG_CONFIG (default pg_config), UU_DUMP_PORT (default 54329).
#   Prints one PASS or FAIL line; exits non-zero on any difference.
set -euo pipefail

if [ "$(id -u)" = 0 ]; then
	echo "dump_restore: initdb refuses to run as root; use: runuser -u postgres -- bash $0" >&2
	exit 2
fi

bindir=$("${PG_CONFIG:-pg_config}" --bindir)
port=${UU_DUMP_PORT:-54329}
work=$(mktemp -d "${TMPDIR:-/tmp}/uu-dump-restore.XXXXXX")
cd "$work" # the caller's directory may be unreadable to this user
data=$work/data
sock=$work/sock
mkdir "$sock"

started=no
cleanup() {
	status=$?
	if [ "$started" = yes ]; then
		"$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 ||
			"$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	if [ "$status" != 0 ] && [ -f "$work/server.log" ]; then
		echo "--- server log (last 30 lines)" >&2
		tail -n 30 "$work/server.log" >&2
	fi
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: dump_restore: $*"
	exit 1
}

conn=(-h "$sock" -p "$port" -U postgres)
psql() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 "${conn[@]}" "$@"; }

"$bindir/initdb" -D "$data" -A trust -U postgres -E UTF8 --locale=C --no-sync >"$work/initdb.log" 2>&1 ||
	{ cat "$work/initdb.log"; fail "initdb failed"; }
"$bindir/pg_ctl" -D "$data" -l "$work/server.log" -w \
	-o "-p $port -k $sock -c listen_addresses='' -c fsync=off -c lc_messages=C" start >/dev/null ||
	fail "the server did not start (port $port busy? set UU_DUMP_PORT)"
started=yes

"$bindir/createdb" "${conn[@]}" src || fail "createdb src failed"

# Users written through user_upsert(): wallets (EVM and Solana), external
# identities, attrs, observed_at, an update, a tombstone with its audit row,
# and blocked identities added by a user next to the shipped ones.
psql -d src <<'SQL' >/dev/null || fail "writing the source database failed"
CREATE EXTENSION user_upsert;
SELECT user_upsert.user_upsert('{"fid": 1, "wallets": ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "So11111111111111111111111111111111111111112"], "external": {"Clerk": "user_1"}, "email": "One@Example.COM",
    "username": "one", "attrs": {"a": {"b": [1, 2.50, null, true]}, "é": "ü 😀"},
    "observed_at": "2026-01-01T00:00:00Z"}');
SELECT user_upsert.user_upsert('{"agent_id": "bot-2", "external": {"github": "two", "clerk": "user_2"},
    "display_name": "Two \"quoted\" back\\slash", "attrs": {"x": "y"}, "observed_at": 1767225600123}');
SELECT user_upsert.user_upsert('{"id": "00000000-0000-4000-8000-000000000003",
    "wallets": ["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"],
    "primary_address": "0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb", "avatar_url": "https://img.example/3.png",
    "kind": "agent", "username": "''; DROP TABLE user_upsert.users; --"}');
SELECT user_upsert.user_upsert('{"fid": 1, "username": "one-b", "attrs": {"a": {"c": 3}}}');
SELECT user_upsert.user_upsert('{"fid": "4", "primary_address": null}');
-- a tombstone and its audit row, written directly with the triggers off
SET session_replication_role = replica;
INSERT INTO user_upsert.users (id, kind, email, attrs, version, merged_into, created_at, updated_at)
SELECT '00000000-0000-4000-8000-0000000000aa', 'human', 'old@example.com', '{"old": true}', 2, id,
       '2025-01-01T00:00:00Z', '2025-06-01T00:00:00Z'
  FROM user_upsert.users WHERE fid = 1;
INSERT INTO user_upsert.merges (survivor_id, merged_id, moved, snapshot, payload, merged_at)
SELECT id, '00000000-0000-4000-8000-0000000000aa', '[{"kind": "external", "value": "github:old"}]',
       '{"id": "00000000-0000-4000-8000-0000000000aa", "email": "old@example.com"}', '{"fid": 1}',
       '2025-06-01T00:00:00Z'
  FROM user_upsert.users WHERE fid = 1;
RESET session_replication_role;
-- the survivor written after its tombstone: its row now comes later in the heap
SELECT user_upsert.user_upsert('{"fid": 1, "observed_at": "2026-02-01T00:00:00+01:00"}');
INSERT INTO user_upsert.blocked_identities (kind, value, reason) VALUES
    ('fid', '666', 'added by a user'), ('external', 'clerk:banned', 'abuse report 7');
-- a real merge, a webhook ledger row and a deleted user, a wallet linked by direct SQL
SELECT user_upsert.user_upsert('{"wallets": ["0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"], "username": "lone"}');
SELECT user_upsert.user_upsert('{"agent_id": "bot-2", "wallets": ["0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb"]}');
SELECT user_upsert.user_apply_event('{"type": "user.created", "timestamp": 1767225600000,
    "data": {"id": "user_gone", "username": "gone", "updated_at": 1767225600000,
             "web3_wallets": [{"web3_wallet": "0x52908400098527886E0F7030069857D2E4169EE7", "verification": {"status": "verified"}}]}}', 'evt_a');
SELECT user_upsert.user_apply_event('{"type": "user.deleted", "timestamp": 1767225700000,
    "data": {"id": "user_gone", "deleted": true}}', 'evt_b');
INSERT INTO user_upsert.identities (kind, value, user_id)
SELECT 'wallet', '0x8617E340B3D01FA5F11F306F4090FD50E238070D', id FROM user_upsert.users WHERE fid = 4;
SQL

tables=(users identities merges blocked_identities events)
# Every row in a stable order; COPY text shows NULLs and escapes exactly.
dump_tables() {
	local db=$1 t
	for t in "${tables[@]}"; do
		psql -d "$db" -c "COPY (SELECT * FROM user_upsert.$t AS t ORDER BY t::text) TO STDOUT" >"$work/$db.$t" ||
			fail "could not read user_upsert.$t of $db"
	done
}
dump_tables src
for t in "${tables[@]}"; do
	[ -s "$work/src.$t" ] || fail "source table $t is empty: the round trip would prove nothing"
done

"$bindir/pg_dump" "${conn[@]}" -Fc -f "$work/src.dump" src 2>"$work/dump.log" ||
	{ cat "$work/dump.log"; fail "pg_dump failed"; }
"$bindir/createdb" "${conn[@]}" dst || fail "createdb dst failed"
"$bindir/pg_restore" "${conn[@]}" -d dst --exit-on-error "$work/src.dump" >"$work/restore.log" 2>&1 ||
	{ cat "$work/restore.log"; fail "pg_restore failed"; }
dump_tables dst

differences=0
for t in "${tables[@]}"; do
	if ! diff -u "$work/src.$t" "$work/dst.$t" >"$work/diff.$t"; then
		echo "user_upsert.$t differs after restore (- source, + restored):"
		cat "$work/diff.$t"
		differences=$((differences + 1))
	fi
done

shipped=$(psql -d dst -At -c "SELECT count(*) FROM user_upsert.blocked_identities
	WHERE kind = 'wallet' AND value IN ('0x0000000000000000000000000000000000000000',
	                                   '0x000000000000000000000000000000000000dead')")
if [ "$shipped" != 2 ]; then
	echo "the shipped blocked identities appear $shipped times in the restored database, expected 2 rows"
	differences=$((differences + 1))
fi

# The restored database works: the restored identities still find their users.
answer=$(psql -d dst -At -c "SELECT (r->>'action') || ' ' || (r->'user'->>'username')
	FROM user_upsert.user_upsert('{\"wallets\": [\"So11111111111111111111111111111111111111112\"]}') AS r")
if [ "$answer" != "unchanged one-b" ]; then
	echo "user_upsert() in the restored database answered \"$answer\", expected \"unchanged one-b\""
	differences=$((differences + 1))
fi

rows=$(cat "${tables[@]/#/$work/src.}" | wc -l)
if [ "$differences" -gt 0 ]; then
	fail "$differences difference(s) after pg_dump -Fc / pg_restore"
fi
echo "PASS: dump_restore: $rows rows of ${tables[*]} identical after pg_dump -Fc / pg_restore"
