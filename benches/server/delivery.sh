#!/usr/bin/env bash
# Outbound delivery at scale, on loopback (the WebSocket fan-out is benches/server/fanout.sh).
#
# Delivery (server/examples/deliverybench.rs): a separately started release fluxora-server
#    drains a backlog of EVENTS_LIST chain events (one stream each) to each count of
#    ENDPOINTS_LIST loopback endpoints (every event goes to every endpoint) whose receivers
#    verify every signature with the core: acknowledged webhooks per second and p50 / p99.
#    MODE=queued (default): the backlog is built by an instance that delivers nothing
#    (--webhook-concurrency 0), then a delivering instance drains it; MODE=live: ingestion
#    and delivery at once. One JSON line per run.
# On the embedded SQLite, then on PostgreSQL (127.0.0.1:5432, database `test`, a fresh schema
# per run) when reachable.
#
#   bash benches/server/delivery.sh
#   EVENTS_LIST="10000" ENDPOINTS_LIST="1" BACKENDS=sqlite bash benches/server/delivery.sh
#   SERVER_ARGS="--webhook-concurrency=256 --webhook-endpoint-concurrency=64" bash benches/server/delivery.sh
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"

EVENTS_LIST="${EVENTS_LIST:-1000 10000 100000}"
ENDPOINTS_LIST="${ENDPOINTS_LIST:-1 10}"
BACKENDS="${BACKENDS:-sqlite postgres}"
MODE="${MODE:-queued}"
SERVER_ARGS="${SERVER_ARGS:-}"
PG_URL="${FLUXORA_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"

step "build (release): the server and the benchmarks"
cargo build --release --locked -p fluxora-server --bin fluxora-server --example deliverybench
BIN="$CARGO_TARGET_DIR/release"

server_args=()
for arg in $SERVER_ARGS; do server_args+=(--server-arg "$arg"); done

for backend in $BACKENDS; do
  db=()
  if [ "$backend" = postgres ]; then
    if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
      echo "*** PostgreSQL part NOT RUN: nothing listens on 127.0.0.1:5432." >&2
      continue
    fi
    db=(--database-url "$PG_URL")
  fi
  for endpoints in $ENDPOINTS_LIST; do
    for events in $EVENTS_LIST; do
      step "$backend: $events events x $endpoints endpoints ($MODE)"
      "$BIN/examples/deliverybench" --server-bin "$BIN/fluxora-server" --mode "$MODE" \
        --events "$events" --endpoints "$endpoints" "${db[@]}" ${server_args[@]+"${server_args[@]}"}
    done
  done
done
