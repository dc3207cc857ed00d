#!/usr/bin/env bash
# Receiver load test on loopback: valid, distinct signed deliveries (a Rust load generator that
# signs with the core: server/examples/loadgen.rs) against
#   1. fluxora-server on its embedded SQLite (replay store in the database file, WAL),
#   2. fluxora-server on PostgreSQL (127.0.0.1:5432, database `test`, a fresh schema),
#   3. a minimal Express receiver verifying the same contract with node:crypto
#      (in-memory replay store: what users run today).
# The three run side by side and the load visits them in turn (ROUNDS rounds of SLOT_SECONDS
# each, default 3 x 5 s, after a warm-up slot). Prints verified deliveries per second over the
# rounds, the ratio to Express at the same connection count (same run; and round by round),
# and p50 / p99 latency side by side.
#
#   bash benches/server/run.sh            # 32 then 128 connections
#   ROUNDS=5 CONNECTIONS="64" bash benches/server/run.sh
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"

ROUNDS="${ROUNDS:-3}"
SLOT_SECONDS="${SLOT_SECONDS:-5}"
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


# Every target runs at once, so that a neighbour's load on this shared machine, which comes
# and goes over tens of seconds, falls on every target alike (see the header).
LABELS=()
URLS=()
add_target() {
  LABELS+=("$1")
  URLS+=("$2")
}

start_server "$WORK/sqlite.log" --data-dir "$WORK/sqlite"
add_target "fluxora-server (SQLite)" "http://$ADDRESS/internal/webhooks/receive"

PG_SCHEMA="bench_$$_$(date +%s)"
if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null \
  && start_server "$WORK/pg.log" --database-url "$PG_URL" --database-schema "$PG_SCHEMA"; then
  add_target "fluxora-server (PostgreSQL)" "http://$ADDRESS/internal/webhooks/receive"
else
  echo "*** PostgreSQL target NOT RUN: cannot start on $PG_URL (is PostgreSQL running?)" >&2
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
add_target "Express + node:crypto (in-memory replay store)" "http://127.0.0.1:$EXPRESS_PORT/internal/webhooks/receive"

RESULTS=()
for connections in $CONNECTIONS; do
  step "load: ${#LABELS[@]} targets in turn, $ROUNDS rounds of $SLOT_SECONDS s each ($connections connections)"
  for round in $(seq 0 "$ROUNDS"); do
    for i in "${!LABELS[@]}"; do
      line="$("$LOADGEN" --url "${URLS[$i]}" --seconds "$SLOT_SECONDS" \
        --connections "$connections" --label "${LABELS[$i]}")"
      if [ "$round" -gt 0 ]; then
        RESULTS+=("$connections $round $line")
        echo "$line"
      fi
    done
  done
done

if [ -n "${PG_SCHEMA:-}" ] && command -v psql >/dev/null 2>&1; then
  psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" >/dev/null 2>&1 || true
fi

step "results"
printf '%s\n' "${RESULTS[@]}" | python3 -c '
import json, statistics, sys
slots = {}
for line in sys.stdin:
    connections, round_, record = line.split(" ", 2)
    r = json.loads(record)
    slots.setdefault((int(connections), r["label"]), []).append((int(round_), r))
def rate(records):
    return sum(r["verified"] for _, r in records) / sum(r["seconds"] for _, r in records)
print("\n| receiver | connections | verified deliveries/s | vs Express | rounds vs Express | p50 ms | p99 ms | failed |")
print("|---|---:|---:|---:|---|---:|---:|---:|")
for (connections, label), records in sorted(slots.items(), key=lambda item: item[0][0]):
    express = next((v for (c, l), v in slots.items() if c == connections and l.startswith("Express")), None)
    rounds = ""
    ratio = "-"
    if express:
        ratio = "{:.2f}x".format(rate(records) / rate(express))
        base = {n: r["verified_per_second"] for n, r in express}
        rounds = ", ".join("{:.2f}".format(r["verified_per_second"] / base[n]) for n, r in records if base.get(n))
    print("| {} | {} | {:,.0f} | {} | {} | {} | {} | {} |".format(
        label, connections, rate(records), ratio, rounds,
        statistics.median(r["p50_ms"] for _, r in records),
        statistics.median(r["p99_ms"] for _, r in records),
        sum(r["failed"] for _, r in records)))
'
printf '\n%s rounds of %s s per target and connection count (p50 and p99: the median slot), loopback, %s cores, load generator on the same machine.\n' "$ROUNDS" "$SLOT_SECONDS" "$(nproc)"
