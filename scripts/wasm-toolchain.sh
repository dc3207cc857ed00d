#!/usr/bin/env bash
# wasm-toolchain.sh - idempotent, non-interactive setup of a wasm32-unknown-unknown
# build route plus wasm-bindgen-cli and binaryen (wasm-opt), for CI on a fresh
# Debian 12 machine (root, registries only: crates.io, Debian apt, PyPI, npm).
# wasm-opt comes from npm `binaryen` (v132): Debian's binaryen 108 corrupts
# wasm-bindgen output that has both a funcref and the externref table
# (it re-points the "__wbindgen_externrefs" export at table 0 -> Table.grow RangeError).
#
# Routes (picked automatically, or forced with WASM_ROUTE=rustup|debian):
#   rustup : `rustup target add wasm32-unknown-unknown` on the rustup stable toolchain.
#   debian : Debian's rustc-web/cargo-web 1.96 + rust-web-src (std source) + lld-22
#            (provides /usr/bin/rust-lld), building std with -Zbuild-std.
#
# Usage:
#   source wasm-toolchain.sh            # set up, then exports WASM_* vars and wasm_cargo()
#   bash wasm-toolchain.sh setup        # set up only, print the chosen route/env
#   bash wasm-toolchain.sh env          # print `export ...` lines (eval "$(... env)")
#   bash wasm-toolchain.sh cargo build --release     # run cargo for wasm32 via chosen route
#   bash wasm-toolchain.sh selftest     # build+bind+run a tiny crate in Node (and wasm-opt it)
#
# Tunables (env): WASM_ROUTE, WASM_BINDGEN_VERSION (default 0.2.129; must equal the
# crate's `wasm-bindgen = "=x.y.z"`), WASM_BINARYEN_VERSION (default 132.0.0),
# WASM_TOOLS_DIR (default $HOME/.cache/wasm-tools), WASM_SKIP_BINDGEN=1, WASM_SKIP_OPT=1.

export WASM_TARGET=wasm32-unknown-unknown
: "${WASM_BINDGEN_VERSION:=0.2.129}"
export WASM_BINDGEN_VERSION
: "${WASM_BINARYEN_VERSION:=132.0.0}"
: "${WASM_TOOLS_DIR:=$HOME/.cache/wasm-tools}"
# esbuild writes the package's CommonJS entry (index.cjs) from the ES module one, so that
# `require()` works on every Node the package supports (Node 18 cannot require an ES module).
: "${WASM_ESBUILD_VERSION:=0.28.2}"
export WASM_BINARYEN_VERSION WASM_TOOLS_DIR WASM_ESBUILD_VERSION
export WASM_OPT="$WASM_TOOLS_DIR/binaryen-$WASM_BINARYEN_VERSION/node_modules/.bin/wasm-opt"
export WASM_ESBUILD="$WASM_TOOLS_DIR/esbuild-$WASM_ESBUILD_VERSION/node_modules/.bin/esbuild"
export PATH="$HOME/.cargo/bin:$PATH"
export DEBIAN_FRONTEND=noninteractive
# Features rustc >=1.87 enables by default for wasm32-unknown-unknown. wasm-opt reads them
# from the target_features section, but a `strip = true` profile removes that section and
# then wasm-opt (even v132) rejects memory.copy etc. unless they are enabled explicitly.
export WASM_OPT_FEATURES="--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-multivalue --enable-reference-types"

_wt_log() { echo "[wasm-toolchain] $*" >&2; }

_wt_have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

_WT_APT_UPDATED=0
_wt_apt_install() {  # installs only the missing packages; apt-get update at most once
  local missing=() p
  for p in "$@"; do _wt_have_pkg "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$_WT_APT_UPDATED" = 0 ]; then
    _wt_log "apt-get update"; apt-get update -qq >&2 || return 1; _WT_APT_UPDATED=1
  fi
  _wt_log "apt-get install ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || return 1
}

_wt_rustup_ok() {
  command -v rustup >/dev/null 2>&1 || return 1
  if rustup +stable target list --installed 2>/dev/null | grep -qx "$WASM_TARGET"; then return 0; fi
  _wt_log "rustup target add $WASM_TARGET"
  timeout 300 rustup +stable target add "$WASM_TARGET" >&2 2>&1 || return 1
  rustup +stable target list --installed | grep -qx "$WASM_TARGET"
}

_wt_setup_debian() {
  _wt_apt_install rustc-web cargo-web rust-web-src rust-web-llvm lld-22 || return 1
  [ -d /usr/lib/rustlib/src/rust/library/std ] || { _wt_log "rust-web-src missing std source"; return 1; }
  /usr/bin/rust-lld -flavor wasm --version >/dev/null 2>&1 || { _wt_log "/usr/bin/rust-lld broken (lld-22?)"; return 1; }
}

# _wt_npm_tool NAME VERSION: an npm package pinned in its own folder under $WASM_TOOLS_DIR.
_wt_npm_tool() {
  local dir="$WASM_TOOLS_DIR/$1-$2"
  _wt_log "npm install $1@$2 -> $dir"
  mkdir -p "$dir" || return 1
  [ -f "$dir/package.json" ] || echo '{"private":true}' > "$dir/package.json"
  npm install --prefix "$dir" --no-audit --no-fund --save-exact "$1@$2" >&2
}

wasm_toolchain_setup() {
  local route="${WASM_ROUTE:-}"
  if [ -z "$route" ]; then
    if _wt_rustup_ok; then route=rustup; else _wt_log "rustup target unavailable, using Debian route"; route=debian; fi
  elif [ "$route" = rustup ]; then
    _wt_rustup_ok || { _wt_log "WASM_ROUTE=rustup but target cannot be installed"; return 1; }
  fi
  if [ "$route" = debian ]; then _wt_setup_debian || return 1; fi
  export WASM_ROUTE="$route"

  if [ "$route" = rustup ]; then
    export WASM_CARGO="cargo +stable"
    export WASM_CARGO_ENV=""
    export WASM_BUILD_STD_FLAGS=""
  else
    # /usr/bin/cargo is cargo-web's binary; RUSTC must point at Debian's rustc, or
    # cargo would pick the rustup proxy from ~/.cargo/bin first in PATH.
    export WASM_CARGO="/usr/bin/cargo"
    export WASM_CARGO_ENV="RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1"
    export WASM_BUILD_STD_FLAGS="-Zbuild-std=std,panic_abort"
  fi

  if [ "${WASM_SKIP_BINDGEN:-0}" != 1 ]; then
    if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WASM_BINDGEN_VERSION"; then
      _wt_log "cargo install wasm-bindgen-cli =$WASM_BINDGEN_VERSION (takes ~3 min)"
      cargo +stable install wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION" --locked --force >&2 || return 1
    fi
  fi
  if [ "${WASM_SKIP_OPT:-0}" != 1 ] && ! "$WASM_OPT" --version 2>/dev/null | grep -q "version ${WASM_BINARYEN_VERSION%%.*}"; then
    _wt_npm_tool binaryen "$WASM_BINARYEN_VERSION" || return 1
  fi
  if ! "$WASM_ESBUILD" --version 2>/dev/null | grep -qx "$WASM_ESBUILD_VERSION"; then
    _wt_npm_tool esbuild "$WASM_ESBUILD_VERSION" || return 1
  fi
  _wt_log "route=$WASM_ROUTE cargo='$WASM_CARGO' env='$WASM_CARGO_ENV' flags='$WASM_BUILD_STD_FLAGS'"
}

# wasm_cargo <cargo subcommand> [args...]  e.g. wasm_cargo build --release
wasm_cargo() {
  local sub="$1"; shift
  if [ "$WASM_ROUTE" = rustup ]; then
    cargo +stable "$sub" --target "$WASM_TARGET" "$@"
  else
    env -u RUSTUP_TOOLCHAIN RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
      /usr/bin/cargo "$sub" --target "$WASM_TARGET" -Zbuild-std=std,panic_abort "$@"
  fi
}

# wasm_opt_file <in.wasm> [out.wasm]   (in place when out omitted)
wasm_opt_file() {
  local in="$1" out="${2:-$1}"
  # shellcheck disable=SC2086
  "$WASM_OPT" -Oz $WASM_OPT_FEATURES "$in" -o "$out"
}

_wt_selftest() {
  local d; d=$(mktemp -d /tmp/wasm-selftest.XXXXXX)
  mkdir -p "$d/src"
  cat > "$d/Cargo.toml" <<EOF
[package]
name = "wtself"
version = "0.1.0"
edition = "2021"
[lib]
crate-type = ["cdylib"]
[dependencies]
wasm-bindgen = "=$WASM_BINDGEN_VERSION"
[profile.release]
opt-level = "s"
lto = true
EOF
  cat > "$d/src/lib.rs" <<'EOF'
use wasm_bindgen::prelude::*;
#[wasm_bindgen]
pub fn describe(label: &str, data: &[u8]) -> String {
    let sum: u32 = data.iter().map(|&b| b as u32).sum();
    format!("{}:{}:{}", label, data.len(), sum)
}
EOF
  (cd "$d" && wasm_cargo build --release) >&2 || return 1
  local wasm="$d/target/$WASM_TARGET/release/wtself.wasm"
  wasm-bindgen --target web --out-dir "$d/pkg" "$wasm"
  if [ "${WASM_SKIP_OPT:-0}" != 1 ]; then wasm_opt_file "$d/pkg/wtself_bg.wasm"; fi
  cat > "$d/run.mjs" <<'EOF'
import { readFileSync } from 'node:fs';
import { initSync, describe } from './pkg/wtself.js';
initSync({ module: readFileSync(new URL('./pkg/wtself_bg.wasm', import.meta.url)) });
const r = describe('ok', new Uint8Array([1, 2, 3]));
if (r !== 'ok:3:6') { console.error('bad result', r); process.exit(1); }
console.log('selftest result', r);
EOF
  echo '{"type":"module"}' > "$d/package.json"
  node "$d/run.mjs"
  _wt_log "selftest passed (route=$WASM_ROUTE, wasm $(stat -c %s "$d/pkg/wtself_bg.wasm") bytes)"
  rm -rf "$d"
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # sourced: set up and leave vars + functions in the caller's shell (its set -e/-u untouched);
  # the `source` itself fails when setup fails, so `. wasm-toolchain.sh || exit 1` works.
  export -f wasm_cargo wasm_opt_file
  wasm_toolchain_setup || { _wt_log "setup FAILED"; return 1; }
else
  set -euo pipefail
  cmd="${1:-setup}"; [ $# -gt 0 ] && shift
  case "$cmd" in
    setup)    wasm_toolchain_setup ;;
    env)      wasm_toolchain_setup
              for v in WASM_ROUTE WASM_CARGO WASM_CARGO_ENV WASM_BUILD_STD_FLAGS WASM_BINDGEN_VERSION WASM_OPT WASM_OPT_FEATURES; do
                printf 'export %s=%q\n' "$v" "${!v}"; done ;;
    cargo)    wasm_toolchain_setup; wasm_cargo "$@" ;;
    selftest) wasm_toolchain_setup; _wt_selftest ;;
    *) echo "usage: $0 [setup|env|cargo <args>|selftest]" >&2; exit 2 ;;
  esac
fi
