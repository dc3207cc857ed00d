#!/usr/bin/env bash
# Rust: formatting, lints, the core's and the facade's tests (conformance cases, properties, doctests),
# the no-allocator build, the axum example, and a short smoke run of every fuzz target.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

step "cargo fmt --check"
cargo fmt --all --check
step "cargo clippy (workspace, all targets, warnings denied)"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo test: core (conformance cases, property tests, doctests)"
cargo test -p fluxora-webhooks --locked
step "cargo test: core with every feature (serde, alloc: the cases against MemoryReplayStore)"
cargo test -p fluxora-webhooks --all-features --locked
step "cargo test: facade (the conformance file's signature, header and settings cases; doctests)"
cargo test -p fluxora-webhooks-facade --locked
step "cargo test: axum example"
cargo test -p fluxora-example-rust-axum --locked
step "rustdoc (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc -p fluxora-webhooks -p fluxora-webhooks-facade --no-deps --all-features --locked
# With the Python and TypeScript references (scripts/test-dist.sh) under target/docs/.
mkdir -p "$ROOT/target/docs"
ln -sfn "$CARGO_TARGET_DIR/doc" "$ROOT/target/docs/rust"
step "no allocator anywhere in the core's dependency graph"
bash "$ROOT/scripts/check-no-alloc.sh"
step "fuzz smoke run (${FUZZ_SECONDS:-10}s per target)"
if cargo +nightly --version >/dev/null 2>&1; then
  bash "$ROOT/scripts/fuzz.sh" "${FUZZ_SECONDS:-10}"
else
  echo "*** fuzz smoke run NOT RUN: cargo-fuzz needs a nightly toolchain (rustup toolchain install nightly)." >&2
fi
