#!/usr/bin/env bash
# Reference server (crate fluxora-server): unit tests, the CLI tests, the HTTP suite on the
# embedded SQLite default (API, receiver, outbound webhooks to a verifying test receiver,
# WebSocket feed, chain-event ingestion, a SIGKILL mid-delivery and restart), then the same
# suite on PostgreSQL plus two server processes sharing one replay store and one outbox.
# Needs nothing but the Rust toolchain for SQLite (SQLite is compiled in); PostgreSQL is expected on 127.0.0.1:5432, database `test`, trust
# auth (override with FLUXORA_TEST_POSTGRES_URL). When PostgreSQL is unreachable the
# PostgreSQL suite says so clearly and does not run.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

step "fluxora-server: unit tests, CLI tests, HTTP suite on SQLite"
cargo test -p fluxora-server --locked --lib --bins --test cli --test sqlite --test limits
step "fluxora-server: the plain-HTTP build (--no-default-features) and its URL rules"
cargo test -p fluxora-server --locked --no-default-features --lib

PG_HOST=127.0.0.1
PG_PORT=5432
pg_reachable() {
  if [ -n "${FLUXORA_TEST_POSTGRES_URL:-}" ]; then
    return 0
  fi
  (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null
}

step "fluxora-server: HTTP suite on PostgreSQL + two instances on one database (receiver, outbox); the conformance file through the HTTP receiver on both databases"
if pg_reachable; then
  # Make sure the `test` database exists when we can (psql present, trust auth).
  if [ -z "${FLUXORA_TEST_POSTGRES_URL:-}" ] && command -v psql >/dev/null 2>&1; then
    for user in postgres root; do
      if psql -h "$PG_HOST" -p "$PG_PORT" -U "$user" -d postgres -tAc "SELECT 1" >/dev/null 2>&1; then
        if ! psql -h "$PG_HOST" -p "$PG_PORT" -U "$user" -d postgres -tAc \
          "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
          psql -h "$PG_HOST" -p "$PG_PORT" -U "$user" -d postgres -c "CREATE DATABASE test" >/dev/null
        fi
        break
      fi
    done
  fi
  # PostgreSQL answers: a connection failure from here on is a real failure.
  FLUXORA_REQUIRE_POSTGRES=1 cargo test -p fluxora-server --locked --test postgres --test conformance --test replay_store --test outage --test backup
else
  echo "*** PostgreSQL suite NOT RUN: nothing listens on $PG_HOST:$PG_PORT." >&2
  echo "*** Start PostgreSQL (database 'test', trust auth) or set FLUXORA_TEST_POSTGRES_URL." >&2
  cargo test -p fluxora-server --locked --test postgres --test conformance --test replay_store --test outage --test backup
fi

step "fluxora-server: the consumers' circuit breaker and retry rate shared through Redis (two instances)"
if (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  FLUXORA_REQUIRE_REDIS=1 cargo test -p fluxora-server --locked --test shared_breaker
else
  echo "*** Redis suite NOT RUN: nothing listens on 127.0.0.1:6379." >&2
  cargo test -p fluxora-server --locked --test shared_breaker
fi

step "fluxora-server: schema-driven test (schemathesis, pinned) against a live server, egress to loopback port 9 only"
bash "$ROOT/scripts/schemathesis.sh"

step "fluxora-server: the container image's contract (server/container/Dockerfile) on the built binary: non-root, one port, its HEALTHCHECK"
cargo build -p fluxora-server --locked
python3 "$ROOT/scripts/container-check.py" "$CARGO_TARGET_DIR/debug/fluxora-server" "$ROOT/server/container/Dockerfile"
