#!/usr/bin/env bash
# Receiver load test on loopback: valid, distinct signed deliveries (a Rust load generator that
# signs with the core: server/examples/loadgen.rs) against
#   1. fluxora-server on its embedded SQLite (replay store in the database file, WAL),
#   2. fluxora-server on PostgreSQL (127.0.0.1:5432, database `test`, a fresh schema),
#   3. a minimal Express receiver verifying the same contract with node:crypto
#      (in-memory replay store: what users run today).
# Prints verified deliveries per second and p50 / p99 latency side by side.
#
#   bash benches/server/run.sh            # 10 s per target, 32 connections
#   SECONDS_PER_TARGET=20 CONNECTIONS=64 bash benches/server/run.sh
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"

DURATION="${SECONDS_PER_TARGET:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
PG_URL="${FLUXORA_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
export WEBHOOK_SECRET="bench-secret-$$"
BENCH_DIR="$ROOT/benches/server"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

step "build (release): fluxora-server and the load generator"
cargo build --release --locked -p fluxora-server --bin fluxora-server --example loadgen
BIN="$CARGO_TARGET_DIR/release/fluxora-server"
LOADGEN="$CARGO_TARGET_DIR/release/examples/loadgen"

step "npm install (express) in benches/server"
if ! command -v node >/dev/null 2>&1; then
  apt_install nodejs npm
fi
if [ ! -d "$BENCH_DIR/node_modules/express" ]; then
  (cd "$BENCH_DIR" && npm install --no-audit --no-fund --silent)
fi

# Starts the server with "$@"; sets ADDRESS from its JSON log (no subshell: PIDS must stick).
start_server() {
  local log="$1"; shift
  RUST_LOG=warn,fluxora_server::server=info "$BIN" serve --host 127.0.0.1 --port 0 --log-format json \
    --rate-limit-per-minute 0 "$@" >"$log" 2>&1 &
  PIDS+=("$!")
  ADDRESS=""
  for _ in $(seq 1 200); do
    ADDRESS="$(grep -o '"address":"[^"]*"' "$log" 2>/dev/null | head -n1 | cut -d'"' -f4 || true)"
    [ -n "$ADDRESS" ] && break
    kill -0 "${PIDS[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$ADDRESS" ] || { cat "$log" >&2; return 1; }
}

stop_last() {
  local pid="${PIDS[-1]}"
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset 'PIDS[-1]'
}

RESULTS=()
measure() {
  local label="$1" url="$2"
  step "load: $label ($DURATION s, $CONNECTIONS connections)"
  local line
  line="$("$LOADGEN" --url "$url" --seconds "$DURATION" --connections "$CONNECTIONS" --label "$label")"
  echo "$line"
  RESULTS+=("$line")
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
  RESULTS+=('{"label":"fluxora-server (PostgreSQL)","verified_per_second":"not run","p50_ms":"-","p99_ms":"-","failed":"-"}')
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
printf '\n| receiver | verified deliveries/s | p50 ms | p99 ms | failed |\n|---|---:|---:|---:|---:|\n'
for line in "${RESULTS[@]}"; do
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("| {} | {} | {} | {} | {} |".format(r["label"], r["verified_per_second"], r["p50_ms"], r["p99_ms"], r["failed"]))' "$line"
done
printf '\n%s connections, %s s per target, loopback, %s cores.\n' "$CONNECTIONS" "$DURATION" "$(nproc)"
