#!/usr/bin/env bash
# with-postgres.sh CMD [ARG...]
#
# Runs CMD against a throwaway PostgreSQL server: initdb in a fresh temp directory (trust
# authentication, UTF8), pg_ctl start on a free loopback port, then CMD with
#
#   SCHEMAGATE_TEST_STORE=postgres
#   SCHEMAGATE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
#
# The server is always stopped and the directory removed, also when CMD fails or the script is
# interrupted. Exits with CMD's status. As root, the server runs as the `postgres` system user
# (initdb refuses root); as any other user, it runs as that user.
#
# PG_BINDIR overrides where initdb and pg_ctl are looked up; otherwise `pg_config --bindir`,
# then the newest /usr/lib/postgresql/*/bin. SCHEMAGATE_PG_MAX_CONNECTIONS sets the server's
# max_connections (default 200; tests/replicas' burst test starts a server with 30).
set -euo pipefail

MAX_CONNECTIONS=${SCHEMAGATE_PG_MAX_CONNECTIONS:-200}
case "$MAX_CONNECTIONS" in
'' | *[!0-9]*)
	echo "with-postgres.sh: SCHEMAGATE_PG_MAX_CONNECTIONS=$MAX_CONNECTIONS is not a number" >&2
	exit 2
	;;
esac

if [ $# -eq 0 ]; then
	echo "usage: $0 CMD [ARG...]" >&2
	exit 2
fi

find_bindir() {
	if [ -n "${PG_BINDIR:-}" ]; then
		echo "$PG_BINDIR"
		return
	fi
	local d
	if command -v pg_config >/dev/null 2>&1; then
		d=$(pg_config --bindir 2>/dev/null || true)
		if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return
		fi
	fi
	# pg_config may come from libpq-dev without a server; take the newest installed server.
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -n "$d" ] && [ -x "$d/initdb" ]; then
		echo "$d"
		return
	fi
	echo "with-postgres.sh: PostgreSQL server binaries not found (install the postgresql package or set PG_BINDIR)" >&2
	exit 1
}

BINDIR=$(find_bindir)

# as_pg runs a command as the user that owns the server.
if [ "$(id -u)" -eq 0 ]; then
	PG_USER=postgres
	if ! id "$PG_USER" >/dev/null 2>&1; then
		echo "with-postgres.sh: running as root but there is no '$PG_USER' system user" >&2
		exit 1
	fi
	if command -v runuser >/dev/null 2>&1; then
		as_pg() { runuser -u "$PG_USER" -- "$@"; }
	else
		as_pg() { setpriv --reuid="$PG_USER" --regid="$PG_USER" --init-groups -- "$@"; }
	fi
else
	PG_USER=$(id -un)
	as_pg() { "$@"; }
fi

DIR=$(mktemp -d "${TMPDIR:-/tmp}/schemagate-pg.XXXXXX")
chmod 700 "$DIR"
if [ "$(id -u)" -eq 0 ]; then
	chown "$PG_USER": "$DIR"
fi
DATA="$DIR/data"
SOCK="$DIR/sock"
LOG="$DIR/server.log"
STARTED=0

cleanup() {
	if [ "$STARTED" = 1 ]; then
		as_pg "$BINDIR/pg_ctl" -D "$DATA" -m fast -w -t 30 stop >/dev/null 2>&1 ||
			as_pg "$BINDIR/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM # until CMD runs; then the signals are forwarded to it

as_pg mkdir -p "$SOCK"
as_pg "$BINDIR/initdb" -D "$DATA" --auth=trust --encoding=UTF8 --locale=C --username=postgres \
	--no-sync >"$DIR/initdb.log" 2>&1 || {
	cat "$DIR/initdb.log" >&2
	echo "with-postgres.sh: initdb failed" >&2
	exit 1
}

# port_free reports whether nothing listens on 127.0.0.1:$1.
port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

PORT=""
for attempt in 1 2 3 4 5 6 7 8; do
	candidate=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
	port_free "$candidate" || continue
	# pg_ctl -w waits until the server accepts connections (or gives up after -t seconds). A
	# port taken between the check and the bind makes start fail; try another one.
	if as_pg "$BINDIR/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
		-o "-p $candidate -k $SOCK -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=$MAX_CONNECTIONS" \
		start >/dev/null 2>&1; then
		STARTED=1
		PORT=$candidate
		break
	fi
	# A failed start may still leave a postmaster behind; make sure it is gone.
	as_pg "$BINDIR/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
done
if [ -z "$PORT" ]; then
	cat "$LOG" >&2 2>/dev/null || true
	echo "with-postgres.sh: could not start PostgreSQL" >&2
	exit 1
fi

# Belt and braces: wait until the TCP listener answers, not just the socket.
for _ in $(seq 1 100); do
	if as_pg "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U postgres 2>/dev/null; then
		break
	fi
	sleep 0.1
done

echo "with-postgres.sh: PostgreSQL $("$BINDIR/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$PORT" >&2

# CMD runs in the background so that a SIGTERM or SIGINT to this script reaches it at once (bash
# runs traps only after a foreground command ends); it is forwarded as SIGTERM, because bash
# starts background commands with SIGINT ignored. The server is stopped once CMD has exited.
# CMD keeps the script's stdin (bash would give a background command /dev/null), so a CMD that
# reads it can keep the server up until its caller closes it.
SCHEMAGATE_TEST_STORE=postgres \
	SCHEMAGATE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable" \
	"$@" <&0 &
child=$!
trap 'kill -TERM "$child" 2>/dev/null || true' INT TERM
status=0
while :; do
	status=0
	wait "$child" || status=$?
	kill -0 "$child" 2>/dev/null || break # a trapped signal interrupts wait; wait again
done
exit "$status"
