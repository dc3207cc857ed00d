#!/usr/bin/env bash
# The receiver with a full replay store: ENTRIES (default 10 million) retained delivery ids
# and as many signature pairs, against an empty store, in one run, on the embedded SQLite
# and on PostgreSQL (127.0.0.1:5432, database `test`, a fresh schema).
#
# The retained entries expire over EXPIRY_SPREAD seconds from the start of the load (about
# ENTRIES / EXPIRY_SPREAD rows per second and table, more than the intake), each pair at its
# timestamp plus the tolerance as the receiver writes them, and the server
# purges every PURGE_EVERY seconds: the table shows the throughput next to how many rows the
# purge removed during the load and how many expired rows it had left at the end.
#
#   bash benches/server/replay-store.sh
#   ENTRIES=1000000 SECONDS_PER_TARGET=10 bash benches/server/replay-store.sh
#   BACKENDS=sqlite EXPIRY_SPREAD=86400 bash benches/server/replay-store.sh  # a slow expiry
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"

ENTRIES="${ENTRIES:-10000000}"
DURATION="${SECONDS_PER_TARGET:-30}"
CONNECTIONS="${CONNECTIONS:-32}"
EXPIRY_SPREAD="${EXPIRY_SPREAD:-2000}"
# A pair expires at its timestamp plus the tolerance (the server's default, 300 s).
TOLERANCE=300
PURGE_EVERY="${PURGE_EVERY:-5}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PG_URL="${FLUXORA_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
export WEBHOOK_SECRET="bench-secret-$$"

step "build (release): fluxora-server and the load generator"
cargo build --release --locked -p fluxora-server --bin fluxora-server --example loadgen
BIN="$CARGO_TARGET_DIR/release/fluxora-server"
LOADGEN="$CARGO_TARGET_DIR/release/examples/loadgen"
. "$ROOT/benches/server/lib.sh"


# SQL over the store: sql sqlite PATH "..." or sql postgres SCHEMA "..."; prints one value.
sql() {
  local backend="$1" where="$2" statement="$3"
  if [ "$backend" = sqlite ]; then
    python3 - "$where" "$statement" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=60)
row = db.execute(sys.argv[2]).fetchone()
db.commit()
print(row[0] if row else "")
PY
  else
    psql "$PG_URL" -qtAX -c "SET search_path TO $where" -c "$statement"
  fi
}

# Fills both replay tables with ENTRIES committed rows expiring from $1 over EXPIRY_SPREAD s.
fill() {
  local backend="$1" where="$2" from="$3" numbers
  if [ "$backend" = sqlite ]; then
    numbers="WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ENTRIES)"
  else
    numbers="WITH n(i) AS (SELECT generate_series(1, $ENTRIES)::bigint)"
  fi
  local expiry="$from + (i * $EXPIRY_SPREAD) / $ENTRIES"
  sql "$backend" "$where" "$numbers INSERT INTO webhook_seen_deliveries \
    (delivery_id, accepted_at_seconds, expires_at_seconds) \
    SELECT 'dlv_retained_' || CAST(i AS TEXT), $from - 60, $expiry FROM n" >/dev/null
  sql "$backend" "$where" "$numbers INSERT INTO webhook_seen_signatures \
    (signed_at_seconds, signature, delivery_id, expires_at_seconds, committed) \
    SELECT $expiry - $TOLERANCE, 'retained' || CAST(i AS TEXT), 'dlv_retained_' || CAST(i AS TEXT), $expiry, 1 FROM n" >/dev/null
}

RESULTS=()
# run BACKEND LABEL FILL: one server, optionally a full store, one load.
run() {
  local backend="$1" label="$2" full="$3" where args=() now expired_before expired_after line
  if [ "$backend" = sqlite ]; then
    mkdir -p "$WORK/$label"
    where="$WORK/$label/fluxora.db"
    args=(--data-dir "$WORK/$label" --purge-interval-seconds "$PURGE_EVERY")
  else
    where="replaystore_$$_$label"
    args=(--database-url "$PG_URL" --database-schema "$where" --purge-interval-seconds "$PURGE_EVERY")
  fi
  # Started once to create and migrate the store.
  start_server "$WORK/$label.log" "${args[@]}"
  stop_last
  if [ "$full" = full ]; then
    step "$backend: filling the store with $ENTRIES delivery ids and $ENTRIES signature pairs"
    local started=$SECONDS
    fill "$backend" "$where" "$(( $(date +%s) + 15 ))"
    echo "filled in $(( SECONDS - started )) s"
  fi
  local count="SELECT (SELECT COUNT(*) FROM webhook_seen_deliveries) + (SELECT COUNT(*) FROM webhook_seen_signatures)"
  local rows_before; rows_before="$(sql "$backend" "$where" "$count")"
  start_server "$WORK/$label.log" "${args[@]}"
  step "load: $backend, $label store ($DURATION s, $CONNECTIONS connections)"
  now="$(date +%s)"
  expired_before="$(sql "$backend" "$where" "SELECT COUNT(*) FROM webhook_seen_deliveries WHERE expires_at_seconds < $now")"
  line="$("$LOADGEN" --url "http://$ADDRESS/internal/webhooks/receive" --seconds "$DURATION" \
    --connections "$CONNECTIONS" --label "$backend $label")"
  echo "$line"
  now="$(date +%s)"
  expired_after="$(sql "$backend" "$where" "SELECT COUNT(*) FROM webhook_seen_deliveries WHERE expires_at_seconds < $now")"
  local rows_after; rows_after="$(sql "$backend" "$where" "$count")"
  stop_last
  [ "$backend" = postgres ] && psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $where CASCADE" >/dev/null 2>&1
  RESULTS+=("$backend $label $rows_before $rows_after $expired_before $expired_after $line")
}

for backend in $BACKENDS; do
  if [ "$backend" = postgres ] \
    && ! { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null && command -v psql >/dev/null; }; then
    echo "*** PostgreSQL NOT RUN: nothing listens on 127.0.0.1:5432 (or no psql)" >&2
    continue
  fi
  run "$backend" empty -
  run "$backend" full full
done

step "results"
printf '%s\n' "${RESULTS[@]}" | python3 -c '
import json, sys
rows = [line.split(" ", 6) for line in sys.stdin]
empty = {r[0]: json.loads(r[6])["verified_per_second"] for r in rows if r[1] == "empty"}
print("\n| backend | replay store at start (rows) | verified deliveries/s | vs empty store | p50 ms | p99 ms | rows purged during the load | expired delivery ids left at the end |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for backend, label, before, after, expired_before, expired_after, record in rows:
    r = json.loads(record)
    ratio = r["verified_per_second"] / empty[backend] if empty.get(backend) else 0
    # Each verified delivery adds a delivery id and a signature pair.
    purged = int(before) + 2 * r["verified"] - int(after)
    print("| {} | {:,} | {} | {:.2f}x | {} | {} | {:,} | {:,} |".format(
        backend, int(before), r["verified_per_second"], ratio, r["p50_ms"], r["p99_ms"], purged, int(expired_after)))
'
printf '\n%s s per target, %s connections, purge every %s s, retained rows expiring over %s s; loopback, %s cores, load generator on the same machine.\n' \
  "$DURATION" "$CONNECTIONS" "$PURGE_EVERY" "$EXPIRY_SPREAD" "$(nproc)"
