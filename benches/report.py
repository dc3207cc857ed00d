#!/usr/bin/env python3
"""Prints the ratio table of the `verify` criterion benchmark from target/criterion."""
import json
import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRITERION = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "criterion"
PEERS = ["raw_sha256", "hmac_keyed_per_message", "ring_hmac_verify"]


def mean_ns(group, function):
    path = CRITERION / group / function / "new" / "estimates.json"
    return json.loads(path.read_text())["mean"]["point_estimate"]


print(f"{'size':<8} {'fluxora verify':>15} " + " ".join(f"{p:>24}" for p in PEERS))
for size in ["0B", "1KiB", "16KiB", "256KiB"]:
    group = f"verify_{size}"
    ours = mean_ns(group, "fluxora_verify")
    cells = []
    for peer in PEERS:
        theirs = mean_ns(group, peer)
        cells.append(f"{theirs:>10.0f} ns ({ours / theirs:>5.2f}x)")
    print(f"{size:<8} {ours:>12.0f} ns " + " ".join(f"{c:>24}" for c in cells))
print("\n(Nx) = fluxora verify time / peer time: below 1 is faster than the peer.")
