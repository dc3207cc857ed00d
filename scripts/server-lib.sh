# Starting and stopping a fluxora-server binary in the background, for the scripts that drive
# one over HTTP. Source it after lib.sh.

SERVER_PID=""

# Starts "$@" (the binary and its `serve` arguments, with --port 0) logging to $SERVER_LOG;
# sets SERVER_ADDRESS (host:port) once it listens. Fails with the log when it does not.
start_server() {
  "$@" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  SERVER_ADDRESS=""
  for _ in $(seq 1 150); do
    SERVER_ADDRESS="$(grep -o '"address":"[^"]*"' "$SERVER_LOG" 2>/dev/null | head -n1 | cut -d'"' -f4 || true)"
    [ -n "$SERVER_ADDRESS" ] && return 0
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      cat "$SERVER_LOG" >&2
      echo "the server exited before listening" >&2
      return 1
    fi
    sleep 0.1
  done
  cat "$SERVER_LOG" >&2
  echo "the server did not start listening" >&2
  return 1
}

# Stops the server started by start_server (SIGTERM, then waits for it).
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
