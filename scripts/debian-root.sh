#!/usr/bin/env bash
# Unpacked Debian userlands for running artifacts the way a user's machine would: an arm64
# bookworm root (run through qemu-aarch64-static, no binfmt_misc needed) and an amd64
# bullseye root (glibc 2.31, entered with chroot). `debootstrap --foreign` only downloads and
# unpacks the required packages; the second stage would need to run inside the root, so every
# downloaded .deb (the --include ones too) is extracted with dpkg-deb instead: nothing is
# configured, which is enough to run python3 and node.
#
# Usage: debian_root SUITE ARCH PACKAGES   (PACKAGES comma-separated) -> prints the root's path.
# Roots are cached under $FLUXORA_ROOTS (default ~/.cache/fluxora-roots) and reused while the
# package list is unchanged.

FLUXORA_ROOTS="${FLUXORA_ROOTS:-$HOME/.cache/fluxora-roots}"

debian_root() {
  local suite="$1" arch="$2" packages="$3"
  local dir="$FLUXORA_ROOTS/$suite-$arch" stamp
  stamp="$suite $arch $packages"
  if [ -f "$dir/.fluxora-root" ] && [ "$(cat "$dir/.fluxora-root")" = "$stamp" ]; then
    echo "$dir"
    return 0
  fi
  rm -rf "$dir"
  mkdir -p "$FLUXORA_ROOTS"
  echo "debootstrap --foreign $suite $arch (+ $packages) into $dir" >&2
  debootstrap --foreign --variant=minbase --arch="$arch" --include="$packages" \
    "$suite" "$dir" http://deb.debian.org/debian >"$dir.log" 2>&1 ||
    { tail -20 "$dir.log" >&2; return 1; }
  local deb
  for deb in "$dir"/var/cache/apt/archives/*.deb; do
    dpkg-deb -x "$deb" "$dir"
  done
  rm -f "$dir"/var/cache/apt/archives/*.deb
  # Name resolution and /tmp for programs run inside; nothing here goes to the network.
  mkdir -p "$dir/tmp" "$dir/work"
  chmod 1777 "$dir/tmp"
  echo "$stamp" >"$dir/.fluxora-root"
  echo "$dir"
}
