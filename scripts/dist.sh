#!/usr/bin/env bash
# Builds every release artifact this machine can build into target/dist/:
#   python/  manylinux2014 (glibc 2.17) and musllinux_1_2 wheels for x86_64 and aarch64 (maturin
#            with zig), each tag confirmed by `auditwheel show`, and the sdist;
#   npm/     the napi-rs layout: @fluxora/webhooks (loader, JS layer, types; its
#            optionalDependencies list all seven platform packages, and it depends on the
#            WebAssembly fallback), the four Linux platform packages built here, and
#            @fluxora/webhooks-wasm; each packed with `npm pack`;
#   bin/     the server and CLI as static musl binaries for x86_64 and aarch64;
#   SHA256SUMS.
# macOS and Windows artifacts need their SDKs: .github/workflows/release.yml builds them on
# native runners. Cross builds use their own target dirs (target/cross/*, target/cross-static),
# so the main target dir's lock is never held. Installs what it needs; re-runs reuse caches.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

DIST="$ROOT/target/dist"
STAGE="$ROOT/target/dist-stage"
# maturin and cargo-zigbuild each get their own target dir: they set the linker and C compiler
# differently, so in one dir each would rebuild what the other built.
CROSS_PY="$ROOT/target/cross/python"
CROSS_NODE="$ROOT/target/cross/node"
VERSION="$(workspace_version)"
started=$SECONDS

dist_toolchain
rm -rf "$DIST" "$STAGE"
mkdir -p "$DIST/python" "$DIST/npm" "$DIST/bin" "$STAGE"

# triple, wheel compatibility, napi-rs platform name
LINUX_TARGETS=(
  "x86_64-unknown-linux-gnu manylinux2014 linux-x64-gnu"
  "aarch64-unknown-linux-gnu manylinux2014 linux-arm64-gnu"
  "x86_64-unknown-linux-musl musllinux_1_2 linux-x64-musl"
  "aarch64-unknown-linux-musl musllinux_1_2 linux-arm64-musl"
)

step "python: wheels (maturin --zig) and the sdist"
for spec in "${LINUX_TARGETS[@]}"; do
  read -r triple compatibility _ <<<"$spec"
  CARGO_TARGET_DIR="$CROSS_PY" maturin build --release --locked --zig --target "$triple" \
    --compatibility "$compatibility" -m bindings-python/Cargo.toml -o "$DIST/python" >&2
done
maturin sdist -m bindings-python/Cargo.toml -o "$DIST/python" >&2
python3 scripts/musl-needed.py "$(command -v patchelf)" "$DIST"/python/*musllinux*.whl

step "python: auditwheel show confirms each wheel's tag"
for wheel in "$DIST"/python/*.whl; do
  tag="$(basename "$wheel" .whl)"
  tag="${tag##*-abi3-}"
  # The wheel is named for the oldest policy it meets (manylinux2014 also as manylinux_2_17);
  # auditwheel must find the binary consistent with that same policy.
  policy="${tag##*.}"
  report="$(auditwheel show "$wheel" | tr -s ' \n' '  ')"
  if ! grep -q "consistent with the following platform tag: \"$policy\"" <<<"$report"; then
    echo "$report" >&2
    echo "dist: $(basename "$wheel") is not consistent with $policy" >&2
    exit 1
  fi
  echo "$(basename "$wheel"): auditwheel confirms $policy"
done

step "npm: the four Linux addons (cargo zigbuild), one package per platform"
cp js-types/common.d.ts bindings-node/lib/common.d.ts
main="$STAGE/webhooks"
mkdir -p "$main/lib"
cp bindings-node/package.json bindings-node/index.js bindings-node/index.d.ts bindings-node/README.md \
  LICENSE-MIT LICENSE-APACHE "$main/"
cp bindings-node/lib/*.js bindings-node/lib/*.mjs bindings-node/lib/*.d.ts "$main/lib/"
# Every platform's package.json (os, cpu, libc) from the package's napi.targets.
bindings-node/node_modules/.bin/napi create-npm-dirs --cwd "$main" --npm-dir npm >&2
# The workspace's version everywhere, optionalDependencies on every platform package, the
# WebAssembly fallback as a dependency.
node scripts/dist-manifest.cjs "$main" "$VERSION"
for spec in "${LINUX_TARGETS[@]}"; do
  read -r triple _ platform <<<"$spec"
  # Zig pins the glibc floor of gnu addons to 2.17 (as the wheels); musl addons link musl
  # dynamically (a static libc cannot host a `.node` loaded by node).
  zig_target="$triple" flags=()
  case "$triple" in
    *-gnu) zig_target="$triple.2.17" ;;
    *-musl) flags=("CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$triple")_RUSTFLAGS=-C target-feature=-crt-static") ;;
  esac
  env "${flags[@]}" CARGO_TARGET_DIR="$CROSS_NODE" \
    cargo zigbuild --release --locked -p fluxora-webhooks-node --target "$zig_target" >&2
  cp "$CROSS_NODE/$triple/release/libfluxora_webhooks_node.so" "$main/npm/$platform/fluxora-webhooks.$platform.node"
  case "$triple" in
    *-musl) python3 scripts/musl-needed.py "$(command -v patchelf)" "$main/npm/$platform/fluxora-webhooks.$platform.node" ;;
  esac
  cp LICENSE-MIT LICENSE-APACHE "$main/npm/$platform/"
  (cd "$main/npm/$platform" && npm pack --silent --pack-destination "$DIST/npm" >/dev/null)
done

step "npm: @fluxora/webhooks (optionalDependencies on every platform package)"
(cd "$main" && npm pack --silent --ignore-scripts --pack-destination "$DIST/npm" >/dev/null)

step "npm: @fluxora/webhooks-wasm"
bash bindings-wasm/build.sh "$STAGE/wasm" >&2
(cd "$STAGE/wasm" && npm pack --silent --pack-destination "$DIST/npm" >/dev/null)

step "server and CLI: static musl binaries (x86_64, aarch64)"
for triple in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
  CARGO_TARGET_DIR="$ROOT/target/cross-static" cargo zigbuild --release --locked -p fluxora-server --target "$triple" >&2
  bin="$STAGE/fluxora-server-$VERSION-$triple"
  mkdir -p "$bin"
  cp "$ROOT/target/cross-static/$triple/release/fluxora-server" LICENSE-MIT LICENSE-APACHE server/README.md "$bin/"
  tar -C "$STAGE" -czf "$DIST/bin/fluxora-server-$VERSION-$triple.tar.gz" "$(basename "$bin")"
done

(cd "$DIST" && find . -type f ! -name SHA256SUMS | sort | xargs sha256sum >SHA256SUMS)
step "target/dist (built in $((SECONDS - started)) s)"
(cd "$DIST" && find . -type f | sort | xargs ls -l | awk '{printf "%10d  %s\n", $5, $9}')
