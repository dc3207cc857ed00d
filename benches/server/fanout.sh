#!/usr/bin/env bash
# WebSocket fan-out of a release `fluxora-server serve`, driven over its public API by
# server/examples/fanoutbench.rs (a separate process on loopback): N clients subscribed to
# every one of a few streams, status changes at a steady rate, so every change reaches every
# client. Per run: messages delivered per second, p50 / p99 latency (change request sent ->
# update read by the client) and the server's RSS per connection.
# Runs 1,000 and 10,000 clients on the embedded SQLite, then on PostgreSQL (127.0.0.1:5432,
# database `test`, a fresh schema) when it answers; prints a markdown table.
#
#   flock /tmp/fluxora-build.lock bash benches/server/fanout.sh
#   CLIENT_COUNTS="1000" SECONDS_PER_RUN=20 MESSAGES_PER_SECOND=150000 bash benches/server/fanout.sh
#
# The offered load is MESSAGES_PER_SECOND (default 110,000) whatever the number of clients:
# the change rate is MESSAGES_PER_SECOND / clients, spread over STREAMS streams.
. "$(dirname "$0")/../../scripts/lib.sh"
. "$ROOT/scripts/server-lib.sh"
cd "$ROOT"

CLIENT_COUNTS="${CLIENT_COUNTS:-1000 10000}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
MESSAGES_PER_SECOND="${MESSAGES_PER_SECOND:-110000}"
STREAMS="${STREAMS:-4}"
# Change requests in flight at once (see --writers in the driver).
WRITERS="${WRITERS:-1}"
PG_URL="${FLUXORA_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
export FANOUT_API_KEY="fanout-bench-key-$$-0123456789"
WORK="$(mktemp -d)"
SERVER_LOG="$WORK/server.log"
PG_SCHEMAS=()
cleanup() {
  stop_server
  if command -v psql >/dev/null 2>&1; then
    for schema in "${PG_SCHEMAS[@]}"; do
      psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
    done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

step "build (release): fluxora-server and the fan-out driver"
cargo build --release --locked -p fluxora-server --bin fluxora-server --example fanoutbench
BIN="$CARGO_TARGET_DIR/release/fluxora-server"
DRIVER="$CARGO_TARGET_DIR/release/examples/fanoutbench"

# 10,000 clients take 10,000 descriptors in the driver and as many in the server.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 10240 ]; then
  echo "*** ulimit -n is $(ulimit -n): runs over about $(($(ulimit -n) - 200)) clients will fail" >&2
fi

RESULTS=()
# run LABEL CLIENTS STORE-ARGS...: a fresh server per run, so its RSS before the clients is a
# baseline of the same kind every time.
run() {
  local label="$1" clients="$2"; shift 2
  # The per-IP connection limit (default 20) is raised: every client comes from 127.0.0.1.
  # The API's request rate limits are off: the driver is one client making every change.
  API_KEYS="$FANOUT_API_KEY" RUST_LOG=warn,fluxora_server::server=info start_server "$BIN" serve \
    --host 127.0.0.1 --port 0 --log-format json \
    --ws-max-connections-per-ip 100000 \
    --rate-limit-per-minute 0 --api-key-rate-limit-per-minute 0 "$@"
  local rate
  rate="$(python3 -c "import sys; print(round($MESSAGES_PER_SECOND / $clients, 3))")"
  step "$label: $clients clients, $STREAMS streams, $rate changes/s for $SECONDS_PER_RUN s"
  local line
  if line="$("$DRIVER" --url "http://$SERVER_ADDRESS" --clients "$clients" --streams "$STREAMS" \
    --writers "$WRITERS" --rate "$rate" --seconds "$SECONDS_PER_RUN" --server-pid "$SERVER_PID" --label "$label")"; then
    echo "$line"
    RESULTS+=("$line")
  else
    echo "*** $label with $clients clients failed; the server log:" >&2
    tail -n 20 "$SERVER_LOG" >&2
    RESULTS+=("{\"label\":\"$label\",\"clients\":$clients,\"failed\":true}")
  fi
  stop_server
}

for clients in $CLIENT_COUNTS; do
  run "SQLite" "$clients" --data-dir "$WORK/sqlite-$clients"
done

if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  for clients in $CLIENT_COUNTS; do
    schema="fanout_$$_${clients}"
    PG_SCHEMAS+=("$schema")
    run "PostgreSQL" "$clients" --database-url "$PG_URL" --database-schema "$schema"
  done
else
  echo "*** PostgreSQL runs NOT RUN: nothing answers on 127.0.0.1:5432" >&2
fi

step "results"
printf '\n| backend | clients | changes/s | messages/s | p50 ms | p99 ms | max ms | missing | change request p50 / p99 ms | server / driver CPU cores | server RSS per connection |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for line in "${RESULTS[@]}"; do
  python3 - "$line" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
if r.get("failed"):
    print(f"| {r['label']} | {r['clients']:,} | failed | | | | | | | | |")
else:
    per = r["serverRssKiBPerConnection"]
    per = f"{per:.1f} KiB" if per is not None else "-"
    print(f"| {r['label']} | {r['clients']:,} | {r['changesPerSecond']:.1f} | {r['messagesPerSecond']:,.0f}"
          f" | {r['latencyMsP50']:.1f} | {r['latencyMsP99']:.1f} | {r['latencyMsMax']:.1f}"
          f" | {r['missing']:,} | {r['changeRequestMsP50']:.1f} / {r['changeRequestMsP99']:.1f}"
          f" | {r['serverCores'] or 0:.2f} / {r['driverCores'] or 0:.2f} | {per} |")
PY
done
printf '\n%s s of changes per run (%s in flight), %s streams, every client subscribed to all; loopback, %s cores shared by the server and the driver.\n' \
  "$SECONDS_PER_RUN" "$WRITERS" "$STREAMS" "$(nproc)"
