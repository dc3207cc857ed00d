#!/usr/bin/env bash
# The receiver with a full replay store: ENTRIES (default 10 million) retained delivery ids
# and as many signature pairs, against an empty store, in one run, on the embedded SQLite
# and on PostgreSQL (127.0.0.1:5432, database `test`, a fresh schema).
#
# Two servers run side by side, one over an empty store and one over the full one, and the
# load alternates between them: SLOTS (default 6) slots of SLOT_SECONDS (default 5) seconds
# each, so a neighbour's load on this shared machine, which comes and goes over tens of
# seconds, falls on both sides of the ratio alike. The table gives the ratio over all slots
# and the median of the slot pairs' ratios.
#
# The retained entries expire over EXPIRY_SPREAD seconds from the end of the fill (about
# ENTRIES / EXPIRY_SPREAD rows per second and table, more than the intake), each pair at its
# timestamp plus the tolerance as the receiver writes them, and the server
# purges every PURGE_EVERY seconds: the table shows the throughput next to how many rows the
# purge removed during the load and how many expired rows it had left at the end.
#
#   bash benches/server/replay-store.sh
#   ENTRIES=1000000 SLOTS=2 bash benches/server/replay-store.sh
#   BACKENDS=sqlite EXPIRY_SPREAD=86400 bash benches/server/replay-store.sh  # a slow expiry
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"

ENTRIES="${ENTRIES:-10000000}"
CONNECTIONS="${CONNECTIONS:-32}"
EXPIRY_SPREAD="${EXPIRY_SPREAD:-2000}"
# A pair expires at its timestamp plus the tolerance (the server's default, 300 s).
TOLERANCE=300
PURGE_EVERY="${PURGE_EVERY:-5}"
SLOTS="${SLOTS:-6}"
SLOT_SECONDS="${SLOT_SECONDS:-5}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PG_URL="${FLUXORA_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
export WEBHOOK_SECRET="bench-secret-$$"

step "build (release): fluxora-server and the load generator"
cargo build --release --locked -p fluxora-server --bin fluxora-server --example loadgen
# FLUXORA_BENCH_BIN: another build of the server to measure (an A/B comparison).
BIN="${FLUXORA_BENCH_BIN:-$CARGO_TARGET_DIR/release/fluxora-server}"
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
# Where a store lives: sets WHERE and ARGS for backend $1, store $2 (a directory or a schema).
locate() {
  local backend="$1" store="$2"
  if [ "$backend" = sqlite ]; then
    mkdir -p "$WORK/$store"
    WHERE="$WORK/$store/fluxora.db"
    ARGS=(--data-dir "$WORK/$store" --purge-interval-seconds "$PURGE_EVERY")
  else
    WHERE="replaystore_$$_$store"
    ARGS=(--database-url "$PG_URL" --database-schema "$WHERE" --purge-interval-seconds "$PURGE_EVERY")
  fi
}

# CPU time (user + system, in clock ticks) the process $1 has used so far.
cpu_ticks() {
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# load_slot ADDRESS PID LABEL: one slot of load on the server at ADDRESS; prints the load
# generator's record with the server's CPU time in it.
load_slot() {
  local address="$1" pid="$2" label="$3" before record
  before="$(cpu_ticks "$pid")"
  record="$("$LOADGEN" --url "http://$address/internal/webhooks/receive" \
    --seconds "$SLOT_SECONDS" --connections "$CONNECTIONS" --label "$label")"
  echo "${record%\}},\"server_cpu_seconds\":$(awk -v t="$(( $(cpu_ticks "$pid") - before ))" -v hz="$(getconf CLK_TCK)" 'BEGIN { print t / hz }')}"
}

rate() {
  grep -o '"verified_per_second":[0-9]*' <<<"$1" | cut -d: -f2
}

count_rows="SELECT (SELECT COUNT(*) FROM webhook_seen_deliveries) + (SELECT COUNT(*) FROM webhook_seen_signatures)"

# One backend: an empty and a full store, each behind a server of its own, loaded in turn.
measure() {
  local backend="$1" empty_where full_where empty_address full_address empty_pid full_pid
  locate "$backend" empty
  empty_where="$WHERE"
  start_server "$WORK/empty.log" "${ARGS[@]}"
  empty_address="$ADDRESS"
  empty_pid="${PIDS[-1]}"
  locate "$backend" full
  full_where="$WHERE"
  start_server "$WORK/full.log" "${ARGS[@]}"
  stop_last
  step "$backend: filling a store with $ENTRIES delivery ids and $ENTRIES signature pairs"
  local started=$SECONDS
  fill "$backend" "$full_where" "$(( $(date +%s) + 15 ))"
  echo "filled in $(( SECONDS - started )) s"
  start_server "$WORK/full.log" "${ARGS[@]}"
  full_address="$ADDRESS"
  full_pid="${PIDS[-1]}"
  local rows_before

  step "load: $backend, $SLOTS slots of $SLOT_SECONDS s on each store in turn ($CONNECTIONS connections)"
  local slot line
  # A first slot on each, not counted, warms both servers' caches, and lets the purge
  # catch up with the rows expired while the store was being filled.
  for slot in $(seq 0 "$SLOTS"); do
    # The full store's server is stopped while the empty one is loaded: its purge does
    # not take the empty one's CPU, and catches up with the rows expired meanwhile in
    # its own slot.
    kill -STOP "$full_pid"
    line="$(load_slot "$empty_address" "$empty_pid" empty)"
    [ "$slot" -gt 0 ] && RESULTS+=("$backend empty $slot $line")
    kill -CONT "$full_pid"
    line="$(load_slot "$full_address" "$full_pid" full)"
    [ "$slot" -gt 0 ] && RESULTS+=("$backend full $slot $line")
    [ "$slot" -eq 0 ] && rows_before="$(sql "$backend" "$full_where" "$count_rows")"
    [ "$slot" -gt 0 ] && echo "slot $slot: $(rate "${RESULTS[-2]}")/s empty, $(rate "$line")/s full"
  done

  local now; now="$(date +%s)"
  local expired_after rows_after
  expired_after="$(sql "$backend" "$full_where" "SELECT COUNT(*) FROM webhook_seen_deliveries WHERE expires_at_seconds < $now")"
  rows_after="$(sql "$backend" "$full_where" "$count_rows")"
  stop_last
  stop_last
  SUMMARY+=("$backend $rows_before $rows_after $expired_after")
  if [ "$backend" = postgres ]; then
    psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $empty_where CASCADE; DROP SCHEMA IF EXISTS $full_where CASCADE" >/dev/null 2>&1 || true
  else
    rm -rf "$(dirname "$empty_where")" "$(dirname "$full_where")"
  fi
}

SUMMARY=()
for backend in $BACKENDS; do
  if [ "$backend" = postgres ] \
    && ! { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null && command -v psql >/dev/null; }; then
    echo "*** PostgreSQL NOT RUN: nothing listens on 127.0.0.1:5432 (or no psql)" >&2
    continue
  fi
  measure "$backend"
done

step "results"
{ printf '%s\n' "${SUMMARY[@]}"; echo; printf '%s\n' "${RESULTS[@]}"; } | python3 -c '
import json, statistics, sys
text = sys.stdin.read().split("\n\n")
summary = {line.split()[0]: [int(v) for v in line.split()[1:]] for line in text[0].splitlines() if line}
rows = [line.split(" ", 3) for line in text[1].splitlines() if line]
print("\n| backend | store at start (rows) | verified deliveries/s (all slots) | vs empty store | median of the slot pairs ratios | p99 ms (median slot) | server CPU per delivery | rows purged during the loads | expired delivery ids left at the end |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for backend, (before, after, expired_after) in summary.items():
    slots = {label: [json.loads(r[3]) for r in rows if r[0] == backend and r[1] == label] for label in ("empty", "full")}
    rate = {label: sum(s["verified"] for s in v) / sum(s["seconds"] for s in v) for label, v in slots.items()}
    pairs = [f["verified_per_second"] / e["verified_per_second"] for e, f in zip(slots["empty"], slots["full"]) if e["verified_per_second"]]
    p99 = {label: statistics.median(s["p99_ms"] for s in v) for label, v in slots.items()}
    cpu = {label: 1e6 * sum(s["server_cpu_seconds"] for s in v) / max(1, sum(s["verified"] for s in v)) for label, v in slots.items()}
    # Each verified delivery adds a delivery id and a signature pair.
    purged = before + 2 * sum(s["verified"] for s in slots["full"]) - after
    print("| {} empty | 0 | {:,.0f} | 1.00x | | {:.1f} | {:.0f} µs | | |".format(backend, rate["empty"], p99["empty"], cpu["empty"]))
    print("| {} full | {:,} | {:,.0f} | **{:.2f}x** | {:.2f}x ({}) | {:.1f} | {:.0f} µs | {:,} | {:,} |".format(
        backend, before, rate["full"], rate["full"] / rate["empty"], statistics.median(pairs),
        ", ".join("{:.2f}".format(p) for p in pairs), p99["full"], cpu["full"], purged, expired_after))
'
printf '\n%s slots of %s s on each store, %s connections, purge every %s s, retained rows expiring over %s s; loopback, %s cores, load generator on the same machine.\n' \
  "$SLOTS" "$SLOT_SECONDS" "$CONNECTIONS" "$PURGE_EVERY" "$EXPIRY_SPREAD" "$(nproc)"
