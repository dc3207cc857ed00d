#!/usr/bin/env bash
# The main job: build the reference server, start it on its embedded SQLite default (a temp
# dir, a free port), sign and POST one delivery to its receiver with the CLI's `send`, print
# the verified answer, stop the server cleanly (SIGTERM). Exits non-zero unless verified.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
cd "$ROOT"

step "cargo build -p fluxora-server"
cargo build -p fluxora-server --locked
BIN="$CARGO_TARGET_DIR/debug/fluxora-server"

WORK="$(mktemp -d)"
SERVER_LOG="$WORK/server.log"
trap 'stop_server; rm -rf "$WORK"' EXIT

# A demo secret for this run only; real deployments set WEBHOOK_SECRET themselves.
export WEBHOOK_SECRET="run-sh-demo-secret-$(date +%s)-$$"

step "start fluxora-server (SQLite in $WORK, free port)"
start_server "$BIN" serve --host 127.0.0.1 --port 0 --data-dir "$WORK"
ADDRESS="$SERVER_ADDRESS"
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
