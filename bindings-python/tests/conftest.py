"""Shared helpers: the conformance file, free ports, the Redis probe, Django settings."""

from __future__ import annotations

import json
import os
import socket
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List

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


REDIS_URL = os.environ.get("FLUXORA_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_client() -> Iterator[Any]:
    """A sync client of the local Redis; the test is skipped, saying why, without one."""
    try:
        import redis
    except ImportError as error:  # pragma: no cover - the suite installs redis
        pytest.skip(f"Redis tests NOT RUN: the redis package is not installed ({error})")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis tests NOT RUN: no Redis reachable at {REDIS_URL} ({error})")
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: Any) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"fluxora:test:{uuid.uuid4().hex}:"
    yield prefix
    keys = list(redis_client.scan_iter(match=prefix + "*"))
    if keys:
        redis_client.delete(*keys)


def redis_keys(client: Any, prefix: str) -> List[bytes]:
    return sorted(client.scan_iter(match=prefix + "*"))


@pytest.fixture(scope="session")
def django_configured() -> None:
    """Django configured once per process; tests pick their URLs with override_settings."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            ALLOWED_HOSTS=["testserver"],
            ROOT_URLCONF="test_frameworks",
            SECRET_KEY="django-test-only",
            MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
        )
        django.setup()
