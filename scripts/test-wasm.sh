#!/usr/bin/env bash
# Wasm: installs what is missing (the wasm32 target or Debian's rustc-web route, wasm-bindgen-cli
# pinned to the crate's version, wasm-opt from npm binaryen, chromium from apt), builds the npm
# package @fluxora/webhooks-wasm into bindings-wasm/pkg, then runs against the built package:
# the Node suite (conformance, API, properties vs node:crypto, Fetch, export map incl. the
# workerd condition), the headless Chromium test, the edge-worker example (default entry and
# the workerd entry), and `tsc --strict` on the declarations. Exits non-zero on any failure.
. "$(dirname "$0")/lib.sh"

WASM_DIR="$ROOT/bindings-wasm"
EXAMPLE_DIR="$ROOT/examples/edge-worker"

node_toolchain

step "chromium (headless browser test)"
if ! command -v chromium >/dev/null 2>&1 && [ -z "${CHROMIUM:-}" ]; then
  apt_install chromium
fi

step "build @fluxora/webhooks-wasm (toolchain route chosen by scripts/wasm-toolchain.sh)"
bash "$WASM_DIR/build.sh"

step "npm ci (bindings-wasm, examples/edge-worker and its runtimes)"
npm_ci "$WASM_DIR"
npm_ci "$EXAMPLE_DIR"
npm_install_pinned "$EXAMPLE_DIR/runtimes"

step "node --test (against bindings-wasm/pkg)"
(cd "$WASM_DIR" && node --test test/conformance.test.js test/api.test.js test/property.test.js test/fetch.test.js test/package.test.js)

step "headless Chromium"
(cd "$WASM_DIR" && node --test test/browser.test.js)

step "examples/edge-worker with real Request objects (default entry, then the workerd entry)"
(cd "$EXAMPLE_DIR" && node --test test/*.test.js)
(cd "$EXAMPLE_DIR" && node --conditions=workerd --import "$WASM_DIR/test/support/register-wasm-modules.mjs" --test test/*.test.js)

step "examples/edge-worker served by the real workerd, Deno and Bun"
(cd "$EXAMPLE_DIR" && node --test runtimes/runtimes.test.js)

step "tsc --strict (types-check/example.ts against pkg/index.d.ts)"
(cd "$WASM_DIR" && npx tsc -p types-check)

echo "wasm suite: all checks passed"
