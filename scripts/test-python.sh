#!/usr/bin/env bash
# Python: build the abi3 wheel with maturin, install the WHEEL into a venv, run the whole
# pytest suite (conformance cases, API, frameworks, example servers, Redis, typing).
# Installs what it needs; re-runs reuse the venv and only pip-install what is missing.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

step "python venv and test dependencies"
command -v python3 >/dev/null || apt_install python3 python3-venv
python3 -m venv --help >/dev/null 2>&1 || apt_install python3-venv
VENV="$(python_venv)"
PY="$VENV/bin/python"
# module name -> pip requirement; installed only when the import fails.
pip_install_missing "$PY" <<'DEPS'
maturin maturin>=1.9.4
pytest pytest
hypothesis hypothesis
fastapi fastapi
httpx httpx
uvicorn uvicorn
flask flask
django django
redis redis
mypy mypy
typing_extensions typing_extensions
DEPS

step "maturin build (abi3 wheel, release)"
WHEEL="$(python_build_wheel "$VENV")"
echo "built $(basename "$WHEEL")" >&2

step "install the wheel (not editable)"
python_install_wheel "$PY" "$WHEEL"
(cd /tmp && "$PY" -c "import fluxora_webhooks, sys; print('imported', fluxora_webhooks.__file__)")

step "pytest (bindings-python/tests)"
cd "$ROOT/bindings-python"
set +e
"$PY" -m pytest -q -p no:cacheprovider tests
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$status"
