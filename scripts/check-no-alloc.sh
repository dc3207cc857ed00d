#!/usr/bin/env bash
# Proves the core needs no allocator: builds it for a bare-metal target with only `core`
# compiled from source (-Zbuild-std=core), so any `alloc`/`std` anywhere in its dependency
# graph fails the build with "can't find crate for `alloc`".
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
target=thumbv7em-none-eabi
target_dir="$CARGO_TARGET_DIR/no-alloc"

if rustup component add rust-src --toolchain nightly >/dev/null 2>&1; then
  step "core for $target with -Zbuild-std=core (rustup nightly)"
  cargo +nightly build -p fluxora-webhooks --release --target "$target" \
    -Zbuild-std=core --target-dir "$target_dir"
else
  # Offline machines: Debian's Rust with its standard library source.
  step "core for $target with -Zbuild-std=core (Debian rustc-web)"
  apt_install rustc-web cargo-web rust-web-src
  env -u RUSTUP_TOOLCHAIN RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo build \
    -p fluxora-webhooks --release --target "$target" -Zbuild-std=core --target-dir "$target_dir-debian"
fi
echo "no-alloc build of fluxora-webhooks for $target: ok"
