#!/usr/bin/env bash
# Outbound delivery and WebSocket fan-out on loopback (server/examples/deliverybench.rs):
#   1. chain events ingested -> signed webhooks verified and acknowledged by a local receiver,
#      per second;
#   2. one stream's updates fanned out to 1,000 WebSocket clients: messages per second and
#      p50 / p99 latency from the change request to each client's update.
# On the embedded SQLite, then on PostgreSQL (127.0.0.1:5432, database `test`) when reachable.
#
#   bash benches/server/delivery.sh
#   EVENTS=20000 CLIENTS=1000 UPDATES=100 bash benches/server/delivery.sh
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"

EVENTS="${EVENTS:-5000}"
CLIENTS="${CLIENTS:-1000}"
UPDATES="${UPDATES:-50}"
PG_URL="${FLUXORA_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"

step "build (release): the delivery / fan-out benchmark"
cargo build --release --locked -p fluxora-server --example deliverybench
BENCH="$CARGO_TARGET_DIR/release/examples/deliverybench"

# 1,000 clients need about 2,000 descriptors in one process.
ulimit -n 8192 2>/dev/null || true

step "SQLite: $EVENTS events, $CLIENTS clients x $UPDATES updates"
"$BENCH" --events "$EVENTS" --clients "$CLIENTS" --updates "$UPDATES"

step "PostgreSQL"
if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  "$BENCH" --events "$EVENTS" --clients "$CLIENTS" --updates "$UPDATES" --database-url "$PG_URL"
else
  echo "*** PostgreSQL part NOT RUN: nothing listens on 127.0.0.1:5432." >&2
fi
