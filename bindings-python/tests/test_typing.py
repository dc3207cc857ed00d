"""The stubs: mypy --strict on an example, and stubtest against the installed module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

pytest.importorskip("mypy")


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=HERE / "typing", capture_output=True, text=True, timeout=300
    )


def test_example_type_checks_strictly() -> None:
    result = _mypy("mypy", "--strict", "--no-incremental", "example.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_stubs_match_the_native_module() -> None:
    result = _mypy("mypy.stubtest", "fluxora_webhooks._native")
    assert result.returncode == 0, result.stdout + result.stderr
