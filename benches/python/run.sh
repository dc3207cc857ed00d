#!/usr/bin/env bash
# Builds and installs the wheel and the peer libraries, then runs bench.py.
# Usage: bash benches/python/run.sh [--seconds N]
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"
VENV="$(python_venv)"
PY="$VENV/bin/python"
pip_install_missing "$PY" <<'DEPS'
maturin maturin>=1.9.4
standardwebhooks standardwebhooks
svix svix
stripe stripe
DEPS
WHEEL="$(python_build_wheel "$VENV")"
python_install_wheel "$PY" "$WHEEL"
exec "$PY" benches/python/bench.py "$@"
