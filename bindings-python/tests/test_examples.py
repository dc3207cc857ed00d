"""Starts the example receivers on real servers (uvicorn, werkzeug) and sends them deliveries."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

import fluxora_webhooks as fw
from conftest import REDIS_URL, ROOT, free_port

SECRET = "example-secret"


def _command(name: str, port: int) -> List[str]:
    if name == "python-fastapi":
        return [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    return [sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)]


def _post(port: int, body: bytes, headers: Dict[str, str]) -> Tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", "/webhooks/fluxora", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _post_message(body: bytes) -> str:
    """The message parse_amount gives for the body's amount."""
    try:
        fw.parse_amount(json.loads(body)["amount"], "amount")
    except fw.DecimalError as error:
        return str(error.message)
    raise AssertionError("the amount is valid")


@pytest.fixture(params=["python-fastapi", "python-flask", "python-fastapi+redis", "python-flask+redis"])
def receiver(request: pytest.FixtureRequest) -> Iterator[int]:
    name, _, store = request.param.partition("+")
    port = free_port()
    env = {**os.environ, "FLUXORA_WEBHOOK_SECRET": SECRET}
    env.pop("FLUXORA_REDIS_URL", None)
    if store == "redis":
        request.getfixturevalue("redis_client")  # skips, saying why, without Redis
        env["FLUXORA_REDIS_URL"] = REDIS_URL
        env["FLUXORA_REDIS_PREFIX"] = request.getfixturevalue("redis_prefix")
    process = subprocess.Popen(
        _command(name, port), cwd=Path(ROOT, "examples", name), env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                pytest.fail(f"{name} exited early:\n{output}")
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{name} did not listen on port {port} within 30 s")
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_receiver_accepts_signed_and_rejects_the_rest(receiver: int) -> None:
    body = b'{"event": "stream.updated", "amount": "100.50"}'
    headers = {**fw.sign(SECRET, body, delivery_id="dlv_ex1", event="stream.updated"), "Content-Type": "application/json"}
    assert _post(receiver, body, headers) == (200, {"received": "dlv_ex1", "event": "stream.updated", "amount": "100.5"})
    assert _post(receiver, body, headers) == (409, {"error": "duplicate_delivery", "message": "Duplicate delivery id"})
    # A handler's 4xx is a handled delivery: committed, so its retry is a duplicate.
    bad = b'{"event": "stream.updated", "amount": "1e10"}'
    bad_headers = {**fw.sign(SECRET, bad, delivery_id="dlv_ex4"), "Content-Type": "application/json"}
    assert _post(receiver, bad, bad_headers) == (422, {"error": "DECIMAL_INVALID_FORMAT", "message": _post_message(bad)})
    retry = {**fw.sign(SECRET, bad, delivery_id="dlv_ex4"), "Content-Type": "application/json"}
    assert _post(receiver, bad, retry) == (409, {"error": "duplicate_delivery", "message": "Duplicate delivery id"})
    forged = {**headers, fw.HEADER_DELIVERY_ID: "dlv_ex2", fw.HEADER_SIGNATURE: "0" * 64}
    assert _post(receiver, body, forged)[0] == 401
    stale = {**fw.sign(SECRET, body, delivery_id="dlv_ex3", timestamp=int(time.time()) - 3600), "Content-Type": "application/json"}
    assert _post(receiver, body, stale) == (
        401,
        {"error": "timestamp_outside_tolerance", "message": "Timestamp is outside the 300 second verification window"},
    )
    big = b'{"pad": "' + b"a" * 300_000 + b'"}'
    status, answer = _post(receiver, big, fw.sign(SECRET, big, delivery_id="dlv_big"))
    assert (status, answer["error"]) == (413, "payload_too_large")
