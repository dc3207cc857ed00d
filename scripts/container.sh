#!/usr/bin/env bash
# Stages the container build context (target/container/<arch>/fluxora-server from the static
# musl builds of scripts/dist.sh, and an empty data directory), then builds the image when a
# Docker engine answers. Where none runs (this project's development and CI machines), it
# says so and checks the image's contract on the same static binary instead
# (scripts/container-check.py: non-root user, one port, the HEALTHCHECK command).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

STAGE="$ROOT/target/container"
rm -rf "$STAGE" && mkdir -p "$STAGE/data"
staged=0
for pair in "amd64 x86_64-unknown-linux-musl" "arm64 aarch64-unknown-linux-musl"; do
  set -- $pair
  bin="$ROOT/target/cross-static/$2/release/fluxora-server"
  if [ -x "$bin" ]; then
    mkdir -p "$STAGE/$1" && cp "$bin" "$STAGE/$1/fluxora-server"
    staged=$((staged + 1))
  fi
done
if [ "$staged" -eq 0 ]; then
  echo "no static binaries: run scripts/dist.sh first" >&2
  exit 1
fi

if docker info >/dev/null 2>&1; then
  step "docker build (server/container/Dockerfile)"
  docker build -f server/container/Dockerfile -t fluxora-server "$ROOT"
else
  echo "*** No Docker engine answers here (docker info fails): the image is not built." >&2
  echo "*** Checking its contract on the same static binary instead." >&2
  python3 "$ROOT/scripts/container-check.py" "$STAGE/amd64/fluxora-server" server/container/Dockerfile
fi
