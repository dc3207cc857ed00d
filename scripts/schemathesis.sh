#!/usr/bin/env bash
# Schema-driven test of the reference server: schemathesis (pinned, from PyPI) generates
# requests from the server's own /openapi.json (valid and invalid ones) and checks every
# answer against the document: no 5xx, only documented statuses, content types, headers and
# schemas, invalid data refused, auth not ignored. Exits non-zero on any failure.
#
# Traffic stays on this machine: the server's egress policy allows loopback only, and only
# port 9 on it (where nothing listens), so no generated endpoint URL can be connected to
# anywhere else.
#
# Every check runs but the exceptions in server/schemathesis/schemathesis.toml, each with its
# reason: `positive_data_acceptance` (cross-field rules a schema cannot state) and 5xx on
# `/health/ready` (503 while degraded is its purpose).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
cd "$ROOT"

SCHEMATHESIS_VERSION=4.32.5
VENV="$CARGO_TARGET_DIR/schemathesis-$SCHEMATHESIS_VERSION"
if [ ! -x "$VENV/bin/st" ]; then
  step "install schemathesis==$SCHEMATHESIS_VERSION"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

cargo build -p fluxora-server --locked
BIN="$CARGO_TARGET_DIR/debug/fluxora-server"

WORK="$(mktemp -d)"
SERVER_LOG="$WORK/server.log"
trap 'stop_server; rm -rf "$WORK"' EXIT

# One key for every role, so one header authenticates every operation.
KEY="schemathesis-key-$(date +%s)-$$"
step "start fluxora-server (SQLite in $WORK) for the schema-driven run"
start_server env \
  API_KEYS="$KEY" ADMIN_API_KEYS="$KEY" INDEXER_WORKER_TOKEN="$KEY" METRICS_TOKEN="$KEY" \
  WEBHOOK_SECRET="schemathesis-secret-$$" \
  RATE_LIMIT_PER_MINUTE=0 RATE_LIMIT_API_KEY_PER_MINUTE=0 \
  EGRESS_ALLOW=loopback EGRESS_ALLOW_PORTS=9 EGRESS_ALLOW_ONLY=true \
  LOG_FORMAT=json \
  "$BIN" serve --host 127.0.0.1 --port 0 --data-dir "$WORK"
BASE="http://$SERVER_ADDRESS"

step "schemathesis $SCHEMATHESIS_VERSION against $BASE/openapi.json"
REPORT="$CARGO_TARGET_DIR/schemathesis-report"
# Run from the build directory: schemathesis keeps its cache (.schemathesis/) where it runs.
cd "$CARGO_TARGET_DIR"
SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$ROOT/server/schemathesis" \
  "$VENV/bin/st" --config-file "$ROOT/server/schemathesis/schemathesis.toml" run "$BASE/openapi.json" \
  --header "Authorization: Bearer $KEY" \
  --max-examples "${FLUXORA_SCHEMATHESIS_EXAMPLES:-60}" \
  --seed "${FLUXORA_SCHEMATHESIS_SEED:-20261202}" \
  --workers 1 \
  --request-timeout 10 \
  --report junit --report-dir "$REPORT" \
  --no-color
