#!/usr/bin/env bash
# Runs every cargo-fuzz target for a while: ./scripts/fuzz.sh [seconds-per-target]
# Installs cargo-fuzz if missing; needs the nightly toolchain (rustup toolchain nightly).
. "$(dirname "$0")/lib.sh"
seconds="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cd "$ROOT/fuzz"
for target in verify streaming decimal; do
  step "fuzz $target for ${seconds}s"
  corpus="$CARGO_TARGET_DIR/fuzz-corpus/$target"
  mkdir -p "$corpus"
  log="$CARGO_TARGET_DIR/fuzz-$target.log"
  if ! cargo +nightly fuzz run --target-dir "$CARGO_TARGET_DIR/fuzz" "$target" "$corpus" "seeds/$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "fuzz target $target failed (a crash leaves its input under fuzz/artifacts/$target; full log: $log)" >&2
    exit 1
  fi
  grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added)' "$log"
done
