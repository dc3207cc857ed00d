#!/usr/bin/env bash
# Receiver load test on loopback: valid, distinct signed deliveries (a Rust load generator that
# signs with the core: server/examples/loadgen.rs) against
#   1. fluxora-server on its embedded SQLite (replay store in the database file, WAL),
#   2. fluxora-server on PostgreSQL (127.0.0.1:5432, database `test`, a fresh schema),
#   3. a minimal Express receiver verifying the same contract with node:crypto
#      (in-memory replay store: what users run today).
# Prints verified deliveries per second, the ratio to Express at the same connection count
# (same run), and p50 / p99 latency side by side.
#
#   bash benches/server/run.sh            # 10 s per target, 32 then 128 connections
#   SECONDS_PER_TARGET=20 CONNECTIONS="64" bash benches/server/run.sh
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"

DURATION="${SECONDS_PER_TARGET:-10}"
CONNECTIONS="${CONNECTIONS:-32 128}"
PG_URL="${FLUXORA_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
export WEBHOOK_SECRET="bench-secret-$$"
BENCH_DIR="$ROOT/benches/server"

step "build (release): fluxora-server and the load generator"
cargo build --release --locked -p fluxora-server --bin fluxora-server --example loadgen
BIN="$CARGO_TARGET_DIR/release/fluxora-server"
LOADGEN="$CARGO_TARGET_DIR/release/examples/loadgen"
. "$ROOT/benches/server/lib.sh"

step "npm install (express) in benches/server"
if ! command -v node >/dev/null 2>&1; then
  apt_install nodejs npm
fi
if [ ! -d "$BENCH_DIR/node_modules/express" ]; then
  (cd "$BENCH_DIR" && npm install --no-audit --no-fund --silent)
fi


RESULTS=()
measure() {
  local label="$1" url="$2" connections line
  for connections in $CONNECTIONS; do
    step "load: $label ($DURATION s, $connections connections)"
    line="$("$LOADGEN" --url "$url" --seconds "$DURATION" --connections "$connections" --label "$label")"
    echo "$line"
    RESULTS+=("$connections $line")
  done
}

start_server "$WORK/sqlite.log" --data-dir "$WORK/sqlite"
measure "fluxora-server (SQLite)" "http://$ADDRESS/internal/webhooks/receive"
stop_last

PG_SCHEMA="bench_$$_$(date +%s)"
if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null \
  && start_server "$WORK/pg.log" --database-url "$PG_URL" --database-schema "$PG_SCHEMA"; then
  measure "fluxora-server (PostgreSQL)" "http://$ADDRESS/internal/webhooks/receive"
  stop_last
  if command -v psql >/dev/null 2>&1; then
    psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" >/dev/null 2>&1 || true
  fi
else
  [ -n "${PIDS[*]}" ] && stop_last
  echo "*** PostgreSQL target NOT RUN: cannot start on $PG_URL (is PostgreSQL running?)" >&2
  for connections in $CONNECTIONS; do
    RESULTS+=("$connections "'{"label":"fluxora-server (PostgreSQL)","verified_per_second":"not run","p50_ms":"-","p99_ms":"-","failed":"-"}')
  done
fi

PORT=0 node "$BENCH_DIR/express-receiver.js" >"$WORK/express.log" 2>&1 &
PIDS+=("$!")
EXPRESS_PORT=""
for _ in $(seq 1 100); do
  EXPRESS_PORT="$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$WORK/express.log" | head -n1)"
  [ -n "$EXPRESS_PORT" ] && break
  sleep 0.1
done
[ -n "$EXPRESS_PORT" ] || { cat "$WORK/express.log" >&2; exit 1; }
measure "Express + node:crypto (in-memory replay store)" "http://127.0.0.1:$EXPRESS_PORT/internal/webhooks/receive"
stop_last

step "results"
printf '%s\n' "${RESULTS[@]}" | python3 -c '
import json, sys
rows = []
for line in sys.stdin:
    connections, record = line.split(" ", 1)
    rows.append((int(connections), json.loads(record)))
express = {c: r["verified_per_second"] for c, r in rows if r["label"].startswith("Express")}
print("\n| receiver | connections | verified deliveries/s | vs Express | p50 ms | p99 ms | failed |")
print("|---|---:|---:|---:|---:|---:|---:|")
for connections, r in sorted(rows, key=lambda row: row[0]):
    rate, base = r["verified_per_second"], express.get(connections)
    ratio = "{:.2f}x".format(rate / base) if isinstance(rate, (int, float)) and base else "-"
    print("| {} | {} | {} | {} | {} | {} | {} |".format(r["label"], connections, rate, ratio, r["p50_ms"], r["p99_ms"], r["failed"]))
'
printf '\n%s s per target, loopback, %s cores, load generator on the same machine.\n' "$DURATION" "$(nproc)"
