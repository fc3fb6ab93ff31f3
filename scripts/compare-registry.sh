#!/usr/bin/env bash
# compare-registry.sh BASE_REV
#
# Measures the registry of the working tree (B) against the one of BASE_REV (A), side by side in
# one run: builds `schemagate` at BASE_REV (in a temporary git worktree) and from the working
# tree, then, alternating A, B, A, B…, starts each binary on a fresh store and loads it with
# `schemagate bench registry` (the working tree's load generator, for both sides), and prints
# per workload the median 2xx answers a second of each side and the ratio B/A.
#
# Stores: SQLite in a temporary directory always; PostgreSQL too when run under
# scripts/with-postgres.sh (SCHEMAGATE_TEST_STORE=postgres and SCHEMAGATE_TEST_POSTGRES_URL, as
# store/storetest reads them): each run gets a database of its own, created and dropped here.
#
#   ROUNDS=3                    runs of each side on each store (the median is reported)
#   LOAD_ARGS="--duration 5s"   more flags for `schemagate bench registry` (default: its own
#                               defaults, 16 clients, 500 schemas in 10 subjects, 5 s a lookup)
#   KEEP=1                      keep the temporary directory (binaries, logs, JSON reports)
#   COMPARE_STORES=postgres     under with-postgres.sh, only PostgreSQL (default: both)
#
# Needs git, go, curl and jq (and psql for PostgreSQL). Exits non-zero when a build, a server
# or a load run fails; a run with answers other than 2xx is reported, not hidden.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 BASE_REV" >&2
	exit 2
fi
BASE_REV=$1
ROUNDS=${ROUNDS:-3}
LOAD_ARGS=${LOAD_ARGS:-}
for tool in git go curl; do
	command -v "$tool" >/dev/null || {
		echo "compare-registry.sh: $tool is needed" >&2
		exit 1
	}
done
# jq reads the load generator's JSON reports (each run's rates and the summary).
command -v jq >/dev/null || {
	echo "compare-registry.sh: jq is needed to read the load reports: install it (Debian: apt-get install jq, or make deps)" >&2
	exit 1
}

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
BASE_SHA=$(git -C "$ROOT" rev-parse --verify "$BASE_REV^{commit}")
TMP=$(mktemp -d "${TMPDIR:-/tmp}/schemagate-compare.XXXXXX")
SERVER_PID=""
PG_DB=""

cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	drop_pg_db
	git -C "$ROOT" worktree remove --force "$TMP/base-src" >/dev/null 2>&1 || true
	if [ "${KEEP:-}" = 1 ]; then
		echo "compare-registry.sh: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# PostgreSQL: a database of its own for each run, on the server with-postgres.sh started.
STORES="sqlite"
if [ "${SCHEMAGATE_TEST_STORE:-}" = postgres ]; then
	if [ -z "${SCHEMAGATE_TEST_POSTGRES_URL:-}" ]; then
		echo "compare-registry.sh: SCHEMAGATE_TEST_STORE=postgres needs SCHEMAGATE_TEST_POSTGRES_URL (run under scripts/with-postgres.sh)" >&2
		exit 1
	fi
	command -v psql >/dev/null || {
		echo "compare-registry.sh: psql is needed for PostgreSQL" >&2
		exit 1
	}
	STORES="${COMPARE_STORES:-sqlite postgres}"
fi

# pg_url_for DB is SCHEMAGATE_TEST_POSTGRES_URL with its database replaced by DB.
pg_url_for() {
	local u=$SCHEMAGATE_TEST_POSTGRES_URL query=""
	if [[ $u == *\?* ]]; then
		query="?${u#*\?}"
		u=${u%%\?*}
	fi
	local scheme=${u%%://*} rest=${u#*://}
	echo "$scheme://${rest%%/*}/$1$query"
}

drop_pg_db() {
	if [ -n "$PG_DB" ]; then
		psql -q "$SCHEMAGATE_TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null || true
		PG_DB=""
	fi
}

echo "compare-registry.sh: A = $BASE_REV ($(git -C "$ROOT" log -1 --format='%h %s' "$BASE_SHA"))" >&2
echo "compare-registry.sh: B = the working tree of $ROOT ($(git -C "$ROOT" log -1 --format=%h HEAD)$(git -C "$ROOT" diff --quiet HEAD || echo ', with uncommitted changes'))" >&2
git -C "$ROOT" worktree add --detach "$TMP/base-src" "$BASE_SHA" >/dev/null 2>&1
(cd "$TMP/base-src" && go build -o "$TMP/A" ./cmd/schemagate)
(cd "$ROOT" && go build -o "$TMP/B" ./cmd/schemagate)
LOADGEN=$TMP/B # the load generator is the working tree's: BASE_REV may not have it

# port_free reports whether nothing listens on 127.0.0.1:$1.
port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
	local p
	while :; do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if port_free "$p"; then
			echo "$p"
			return
		fi
	done
}

# one_run SIDE STORE ROUND: starts binary SIDE on a fresh STORE, loads it, writes the JSON report
# to $TMP/STORE-SIDE-ROUND.json and stops the server.
one_run() {
	local side=$1 store=$2 round=$3 name="$2-$1-$3"
	local http grpc env=() args=()
	if [ "$store" = postgres ]; then
		PG_DB="schemagate_compare_$$_${side,,}_$round"
		psql -q "$SCHEMAGATE_TEST_POSTGRES_URL" -c "CREATE DATABASE $PG_DB" >/dev/null
		env=("SCHEMAGATE_STORAGE_URL=$(pg_url_for "$PG_DB")")
	else
		mkdir -p "$TMP/data-$name"
		args=(--data-dir "$TMP/data-$name")
	fi
	# A port found free can be taken before the server binds it: then start again on others.
	local ready=0 attempt
	for attempt in 1 2 3; do
		http=$(free_port)
		grpc=$(free_port)
		env ${env[@]+"${env[@]}"} "$TMP/$side" serve --http-addr "127.0.0.1:$http" --grpc-addr "127.0.0.1:$grpc" \
			${args[@]+"${args[@]}"} >"$TMP/server-$name.log" 2>&1 &
		SERVER_PID=$!
		for _ in $(seq 1 300); do
			if curl -sf "http://127.0.0.1:$http/readyz" >/dev/null 2>&1; then
				ready=1
				break
			fi
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.2
		done
		if [ "$ready" = 1 ] || ! grep -q "address already in use" "$TMP/server-$name.log"; then
			break
		fi
		wait "$SERVER_PID" 2>/dev/null || true
		echo "compare-registry.sh: $side ($store): a port was taken (attempt $attempt); starting again" >&2
	done
	if [ "$ready" != 1 ]; then
		cat "$TMP/server-$name.log" >&2
		echo "compare-registry.sh: $side ($store) did not become ready" >&2
		exit 1
	fi
	local status=0
	# shellcheck disable=SC2086 # LOAD_ARGS is a list of flags
	"$LOADGEN" bench registry --url "http://127.0.0.1:$http" -o json $LOAD_ARGS >"$TMP/$name.json" || status=$?
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID" || true
	SERVER_PID=""
	drop_pg_db
	if [ "$status" != 0 ]; then
		cat "$TMP/$name.json" >&2
		echo "compare-registry.sh: the load run against $side ($store), round $round, failed" >&2
		exit 1
	fi
	echo "compare-registry.sh: $store round $round $side: $(jq -r '[.workloads[] | "\(.name) \(.per_second | floor)/s"] | join(", ")' "$TMP/$name.json")" >&2
}

for store in $STORES; do
	for round in $(seq 1 "$ROUNDS"); do
		one_run A "$store" "$round"
		one_run B "$store" "$round"
	done
done

# The summary: per store and workload, the median rate of each side, B/A, each round's B/A,
# and the answers that were not 2xx (summed over the side's runs).
echo
printf '%-9s %-9s %12s %12s %7s  %-22s %s\n' STORE WORKLOAD "A OK/S" "B OK/S" "B/A" "B/A EACH ROUND" "NOT 2XX (A | B)"
for store in $STORES; do
	jq -r -s --arg store "$store" --argjson rounds "$ROUNDS" '
		def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		def notok: [.[] | (.non_2xx // {} | to_entries[] | "\(.key):\(.value)"), (if (.errors // 0) > 0 then "no answer:\(.errors)" else empty end)] | if length == 0 then "-" else join(",") end;
		(.[:$rounds]) as $a | (.[$rounds:]) as $b
		| ($a[0].workloads | map(.name))[] as $w
		| [$a[] | .workloads[] | select(.name == $w)] as $aw
		| [$b[] | .workloads[] | select(.name == $w)] as $bw
		| ($aw | map(.per_second) | median) as $am
		| ($bw | map(.per_second) | median) as $bm
		| [$store, $w, ($am | floor), ($bm | floor), (if $am > 0 then ($bm / $am * 100 | round) / 100 else "n/a" end),
		   ([range(0; $rounds) as $i | if $aw[$i].per_second > 0 then ($bw[$i].per_second / $aw[$i].per_second * 100 | round) / 100 else "n/a" end] | map(tostring) | join(" ")),
		   "\($aw | notok) | \($bw | notok)"]
		| @tsv' \
		$(for r in $(seq 1 "$ROUNDS"); do echo "$TMP/$store-A-$r.json"; done) \
		$(for r in $(seq 1 "$ROUNDS"); do echo "$TMP/$store-B-$r.json"; done) |
		while IFS=$'\t' read -r s w a b ratio each notok; do
			printf '%-9s %-9s %12s %12s %7s  %-22s %s\n' "$s" "$w" "$a" "$b" "$ratio" "$each" "$notok"
		done
	for side in A B; do
		jq -r -s --arg store "$store" --arg side "$side" '
			def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
			(map(.workloads[] | select(.name == "latest") | .per_second) | median) as $l
			| (map(.workloads[] | select(.name == "by-id") | .per_second) | median) as $i
			| "\($store) \($side): latest / by-id = \(if $i > 0 then ($l / $i * 100 | round) / 100 else "n/a" end)"' \
			$(for r in $(seq 1 "$ROUNDS"); do echo "$TMP/$store-$side-$r.json"; done)
	done
done
