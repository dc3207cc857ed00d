# Shared by the receiver benchmarks: the release server started on loopback and stopped,
# every process killed on exit. Source after scripts/lib.sh; set BIN first.
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    # A server a bench stopped (SIGSTOP) handles the TERM once continued.
    kill -CONT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Starts "$BIN serve" logging to $1 with the remaining arguments; sets ADDRESS from its JSON
# log (no subshell: PIDS must stick).
start_server() {
  local log="$1"; shift
  RUST_LOG=warn,fluxora_server::server=info "$BIN" serve --host 127.0.0.1 --port 0 --log-format json \
    --rate-limit-per-minute 0 "$@" >"$log" 2>&1 &
  PIDS+=("$!")
  ADDRESS=""
  for _ in $(seq 1 300); do
    ADDRESS="$(grep -o '"address":"[^"]*"' "$log" 2>/dev/null | head -n1 | cut -d'"' -f4 || true)"
    [ -n "$ADDRESS" ] && break
    kill -0 "${PIDS[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$ADDRESS" ] || { cat "$log" >&2; return 1; }
}

# Stops the process started last.
stop_last() {
  local pid="${PIDS[-1]}"
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset 'PIDS[-1]'
}
