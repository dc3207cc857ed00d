"""Hypothesis round trips against the standard library's hmac."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given, settings
from hypothesis import strategies as st

import fluxora_webhooks as fw

secrets = st.one_of(st.text(min_size=1, max_size=80), st.binary(min_size=1, max_size=200))
bodies = st.binary(max_size=4096)
timestamps = st.integers(min_value=1, max_value=2**63)


def _key(secret: object) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(secret=secrets, timestamp=timestamps, body=bodies)
def test_compute_signature_equals_stdlib_hmac(secret: object, timestamp: int, body: bytes) -> None:
    expected = hmac.new(_key(secret), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert fw.compute_signature(secret, timestamp, body) == expected  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(secret=secrets, body=bodies, skew=st.integers(min_value=-300, max_value=300), upper=st.booleans())
def test_stdlib_signed_deliveries_verify(secret: object, body: bytes, skew: int, upper: bool) -> None:
    now = 1710000000
    stamp = str(now + skew)
    signature = hmac.new(_key(secret), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if upper:
        signature = signature.upper()
    verifier = fw.Verifier(secret, replay_store=fw.NoReplayStore())  # type: ignore[arg-type]
    result = verifier.verify(bytearray(body), delivery_id="d", timestamp=stamp, signature=f" {signature}\t", now=now)
    assert (result.ok, result.code) == (True, "ok")


@settings(max_examples=200, deadline=None)
@given(secret=secrets, body=bodies, flip=st.integers(min_value=0, max_value=63))
def test_any_changed_signature_digit_is_a_mismatch(secret: object, body: bytes, flip: int) -> None:
    now = 1710000000
    signature = fw.compute_signature(secret, now, body)  # type: ignore[arg-type]
    digit = "0" if signature[flip] != "0" else "1"
    tampered = signature[:flip] + digit + signature[flip + 1 :]
    result = fw.verify(secret, body, "d", str(now), tampered, now=now)  # type: ignore[arg-type]
    assert result.code == fw.SIGNATURE_MISMATCH


@settings(max_examples=200, deadline=None)
@given(secret=secrets, body=bodies, extra=st.binary(min_size=1, max_size=8))
def test_any_changed_body_is_a_mismatch(secret: object, body: bytes, extra: bytes) -> None:
    now = 1710000000
    signature = fw.compute_signature(secret, now, body)  # type: ignore[arg-type]
    result = fw.verify(secret, body + extra, "d", str(now), signature, now=now)  # type: ignore[arg-type]
    assert result.code == fw.SIGNATURE_MISMATCH
