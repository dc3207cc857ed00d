"""Shared helpers: the conformance file, free ports, the Redis probe."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any, Dict

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASES_PATH = ROOT / "conformance" / "cases.json"
SECRET = "topsecret"
NOW = 1710000000
JSON_BODY = b'{"event":"stream.updated"}'


def load_cases() -> Dict[str, Any]:
    with CASES_PATH.open(encoding="utf-8") as handle:
        return json.load(handle)


def body_bytes(body: Dict[str, Any]) -> bytes:
    if "utf8" in body:
        return body["utf8"].encode("utf-8")
    if "hex" in body:
        return bytes.fromhex(body["hex"])
    return bytes.fromhex(body["repeat_hex"]) * body["count"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def cases() -> Dict[str, Any]:
    return load_cases()
