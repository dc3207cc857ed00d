#!/usr/bin/env bash
# Historical-event replay throughput (benches/server/replay.py) against the release server:
# 3 x EVENTS historical events loaded through the API, then replayed with batch sizes 100,
# 1,000 and 5,000. On the embedded SQLite, then on PostgreSQL (127.0.0.1:5432, database
# `test`, a fresh schema) when reachable.
#
#   bash benches/server/replay.sh
#   EVENTS=20000 bash benches/server/replay.sh
. "$(dirname "$0")/../../scripts/lib.sh"
. "$ROOT/scripts/server-lib.sh"
cd "$ROOT"

EVENTS="${EVENTS:-100000}"
PG_URL="${FLUXORA_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
TOKEN="bench-indexer-token-$$-0123456789"

step "build (release): fluxora-server"
cargo build --release --locked -p fluxora-server
BIN="$CARGO_TARGET_DIR/release/fluxora-server"
WORK="$(mktemp -d)"
SERVER_LOG="$WORK/server.log"
trap 'stop_server; rm -rf "$WORK"' EXIT

run_bench() {
  start_server env INDEXER_WORKER_TOKEN="$TOKEN" LOG_FORMAT=json "$BIN" serve \
    --host 127.0.0.1 --port 0 --data-dir "$WORK" "$@"
  python3 "$ROOT/benches/server/replay.py" "http://$SERVER_ADDRESS" "$TOKEN" "$EVENTS"
  stop_server
}

step "SQLite: 3 x $EVENTS historical events"
run_bench

step "PostgreSQL: 3 x $EVENTS historical events"
if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  run_bench --database-url "$PG_URL" --database-schema "replaybench_$$"
else
  echo "*** PostgreSQL NOT RUN: nothing listens on 127.0.0.1:5432" >&2
fi
