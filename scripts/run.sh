#!/usr/bin/env bash
# The main job: build the reference server, start it on its embedded SQLite default (a temp
# dir, a free port), sign and POST one delivery to its receiver with the CLI's `send`, print
# the verified answer, stop the server cleanly (SIGTERM). Exits non-zero unless verified.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

step "cargo build -p fluxora-server"
cargo build -p fluxora-server --locked
BIN="$CARGO_TARGET_DIR/debug/fluxora-server"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# A demo secret for this run only; real deployments set WEBHOOK_SECRET themselves.
export WEBHOOK_SECRET="run-sh-demo-secret-$(date +%s)-$$"

step "start fluxora-server (SQLite in $WORK, free port)"
"$BIN" serve --host 127.0.0.1 --port 0 --data-dir "$WORK" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
ADDRESS=""
for _ in $(seq 1 100); do
  ADDRESS="$(grep -o '"address":"[^"]*"' "$WORK/server.log" 2>/dev/null | head -n1 | cut -d'"' -f4 || true)"
  [ -n "$ADDRESS" ] && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    cat "$WORK/server.log" >&2
    echo "run.sh: the server exited before listening" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$ADDRESS" ]; then
  cat "$WORK/server.log" >&2
  echo "run.sh: the server did not start listening" >&2
  exit 1
fi
echo "server listening on http://$ADDRESS (database: $WORK/fluxora.db)" >&2

cat >"$WORK/delivery.json" <<JSON
{"event":"stream.created","data":{"streamId":"str_demo","sender":"GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF","depositAmount":"100.5"}}
JSON

step "fluxora-server send (signed delivery -> /internal/webhooks/receive)"
set +e
ANSWER="$("$BIN" send --url "http://$ADDRESS/internal/webhooks/receive" --body "$WORK/delivery.json" --event stream.created)"
SEND_STATUS=$?
set -e
echo "$ANSWER"

step "stop the server (SIGTERM)"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
STOP_STATUS=$?
SERVER_PID=""
echo "server stopped (exit $STOP_STATUS)" >&2

if [ "$SEND_STATUS" -ne 0 ] || ! grep -q '"ok":true' <<<"$ANSWER"; then
  echo "run.sh: the delivery was NOT verified" >&2
  exit 1
fi
echo "delivery verified" >&2
