"""Names musl's libc the way musl systems do in the NEEDED entries of zig-linked musl objects.

zig links dynamic musl objects against its own stub `libc.so`, so they record NEEDED `libc.so`.
musl's loader maps that name to itself too, so they load (test-dist.sh shows it), but the
musllinux policy (PEP 656, auditwheel) accepts only `libc.musl-<arch>.so.1`, the name Alpine's
toolchain records. This rewrites the entry with patchelf, in a `.so`/`.node` file or in every
shared object of a wheel (whose RECORD it updates).

Usage: python musl-needed.py PATCHELF FILE...
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MACHINES = {0x3E: "x86_64", 0xB7: "aarch64"}  # e_machine of the ELF header


def patch_object(patchelf: str, path: Path) -> None:
    machine = int.from_bytes(path.read_bytes()[18:20], "little")
    arch = MACHINES[machine]
    needed = subprocess.run(
        [patchelf, "--print-needed", str(path)], check=True, capture_output=True, text=True
    ).stdout.split()
    if "libc.so" in needed:
        subprocess.run(
            [patchelf, "--replace-needed", "libc.so", f"libc.musl-{arch}.so.1", str(path)], check=True
        )


def record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def patch_wheel(patchelf: str, wheel: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with zipfile.ZipFile(wheel) as zf:
            names = zf.namelist()
            zf.extractall(root)
        record = next(name for name in names if name.endswith(".dist-info/RECORD"))
        lines = []
        for line in (root / record).read_text().splitlines():
            name = line.split(",")[0]
            if name.endswith(".so"):
                patch_object(patchelf, root / name)
                data = (root / name).read_bytes()
                line = f"{name},{record_hash(data)},{len(data)}"
            lines.append(line)
        (root / record).write_text("\n".join(lines) + "\n")
        out = wheel.with_suffix(".tmp")
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name in names:  # same order: RECORD stays last
                zf.write(root / name, name)
        shutil.move(out, wheel)


def main() -> None:
    patchelf, *files = sys.argv[1:]
    for file in map(Path, files):
        if file.suffix == ".whl":
            patch_wheel(patchelf, file)
        else:
            patch_object(patchelf, file)


if __name__ == "__main__":
    main()
