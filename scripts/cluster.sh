# Sourced by scripts that need a throwaway PostgreSQL 15 cluster.
# cluster_start PORT: initdb + pg_ctl start in a private directory and socket
# dir, as the current user (not root: initdb refuses it); sets PGHOST, PGPORT,
# PGDATABASE for psql/pgbench; cluster_stop is registered on EXIT.
BINDIR=$(pg_config --bindir)

cluster_start() {
	local port=$1
	CLUSTER_DIR=$(mktemp -d /tmp/user_upsert-cluster.XXXXXX)
	"$BINDIR/initdb" -D "$CLUSTER_DIR/data" -A trust -U postgres --no-sync >"$CLUSTER_DIR/initdb.log" 2>&1 ||
		{ cat "$CLUSTER_DIR/initdb.log"; return 1; }
	cat >>"$CLUSTER_DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$CLUSTER_DIR'
max_connections = 50
fsync = off
CONF
	"$BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w start >/dev/null
	export PGHOST=$CLUSTER_DIR PGPORT=$port PGUSER=postgres PGDATABASE=postgres
	trap cluster_stop EXIT
}

cluster_stop() {
	if [ -n "${CLUSTER_DIR:-}" ] && [ -d "$CLUSTER_DIR" ]; then
		"$BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" -m immediate stop >/dev/null 2>&1 || true
		rm -rf "$CLUSTER_DIR"
	fi
}
