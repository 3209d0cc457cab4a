#!/usr/bin/env bash
# What many tenants cost one node (the README's "Many tenants on one node"):
# starts a server on a fresh data directory (and, on PostgreSQL, a fresh
# database kefu_scale, dropped at the end), signs up N tenants through the
# API with one visitor message in each (kefu-bench --tenants), reads the
# server's open descriptors and RSS from /proc, stops it, times
# `kefu migrate` over every tenant, and on PostgreSQL measures the catalog.
#
#   cmd/kefu-bench/tenants.sh sqlite 10000
#   KEFU_SCALE_ADMIN_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable \
#     cmd/kefu-bench/tenants.sh postgres 10000
#
# KEFU_SCALE_PORT (default 18160) is the server's port, KEFU_SCALE_OPENERS
# (default 4) the signups in flight, KEFU_SCALE_DB (default kefu_scale) the
# PostgreSQL database created and dropped, KEFU_SCALE_FOR a time budget for
# the signups (say 40m; 0 for none); any KEFU_* variable set is passed on
# (KEFU_TENANT_HANDLES, say).
set -euo pipefail
backend=${1:?usage: tenants.sh sqlite|postgres [tenants]}
n=${2:-10000}
port=${KEFU_SCALE_PORT:-18160}
admin=${KEFU_SCALE_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
dbname=${KEFU_SCALE_DB:-kefu_scale}
work=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	if [ "$backend" = postgres ]; then psql "$admin" -qc "DROP DATABASE IF EXISTS $dbname" >/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/kefu" ./cmd/kefu
go build -o "$work/kefu-bench" ./cmd/kefu-bench
export KEFU_ADDR=127.0.0.1:$port KEFU_DATA_DIR=$work/data KEFU_LOG_LEVEL=warn \
	KEFU_AUTH_PER_MINUTE=1000000 KEFU_WIDGET_PER_MINUTE=1000000
if [ "$backend" = postgres ]; then
	psql "$admin" -qc "DROP DATABASE IF EXISTS $dbname" -c "CREATE DATABASE $dbname" >/dev/null
	db=${admin%%/postgres\?*}/$dbname?sslmode=disable
	export KEFU_DATABASE_URL=$db KEFU_SINGLE_NODE=true KEFU_SECRET=kefu-scale-bench-secret-0123456789abcdef
fi

"$work/kefu" serve >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do curl -fs "http://$KEFU_ADDR/readyz" >/dev/null && break; sleep 0.2; done
fds() { ls "/proc/$pid/fd" | wc -l; }
rss() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$pid/status"; }
echo "start: fds $(fds), rss $(rss) MiB"

"$work/kefu-bench" --url "http://$KEFU_ADDR" --tenants "$n" --openers "${KEFU_SCALE_OPENERS:-4}" --tenants-for "${KEFU_SCALE_FOR:-0}" >"$work/bench.json"
cat "$work/bench.json"
echo "after the run: fds $(fds), rss $(rss) MiB, threads $(awk '/Threads/ {print $2}' "/proc/$pid/status")"
kill "$pid"
wait "$pid" || true
pid=

start=$(date +%s.%N)
"$work/kefu" migrate >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log"; exit 1; }
echo "kefu migrate over every tenant (nothing to apply): $(echo "$(date +%s.%N) - $start" | bc) s"

if [ "$backend" = postgres ]; then
	psql "$db" -Atc "SELECT 'catalog (pg_catalog relations): ' || pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = 'pg_catalog'" \
		-c "SELECT 'pg_class rows: ' || count(*) FROM pg_class" \
		-c "SELECT 'pg_attribute rows: ' || count(*) FROM pg_attribute" \
		-c "SELECT 'database: ' || pg_size_pretty(pg_database_size(current_database()))"
else
	echo "data dir: $(du -sh "$KEFU_DATA_DIR" | cut -f1), $(ls "$KEFU_DATA_DIR/tenants" | grep -c '\.db$') tenant files"
fi
