"""The Python API: body types, headers, exceptions, constants, secrets, decimals."""

from __future__ import annotations

import array
import hashlib
import hmac
import re
from typing import Any, Dict, List

import pytest

import fluxora_webhooks as fw
from conftest import JSON_BODY, NOW, SECRET


def signed(body: bytes = JSON_BODY, delivery_id: str = "dlv_1", timestamp: int = NOW) -> Dict[str, str]:
    return fw.sign(SECRET, body, delivery_id=delivery_id, timestamp=timestamp)


def fresh() -> fw.Verifier:
    return fw.Verifier(SECRET, replay_store=fw.NoReplayStore())


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview, lambda b: memoryview(bytearray(b))])
def test_body_accepts_bytes_like(wrap: Any) -> None:
    result = fresh().verify(wrap(JSON_BODY), signed(), now=NOW)
    assert result.ok and result.code == fw.OK and bool(result)


def test_memoryview_slice_verifies_only_the_slice() -> None:
    framed = b"xx" + JSON_BODY + b"yy"
    view = memoryview(framed)[2:-2]
    assert fresh().verify(view, signed(), now=NOW).ok
    assert fresh().verify(memoryview(framed), signed(), now=NOW).code == fw.SIGNATURE_MISMATCH


def test_other_buffers_are_read_as_their_bytes() -> None:
    body = array.array("B", JSON_BODY)
    assert fresh().verify(body, signed(), now=NOW).ok  # type: ignore[arg-type]


def test_str_body_is_refused_with_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match="raw bytes"):
        fresh().verify(JSON_BODY.decode(), signed(), now=NOW)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="raw bytes"):
        fw.verify(SECRET, JSON_BODY.decode(), "dlv_1", str(NOW), "00", now=NOW)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="raw bytes"):
        fw.compute_signature(SECRET, NOW, "text")  # type: ignore[arg-type]


@pytest.mark.parametrize("body", [None, 12, 1.5, ["a"], {"a": 1}, object()])
def test_non_buffer_body_is_a_type_error(body: Any) -> None:
    with pytest.raises(TypeError, match="body must be"):
        fresh().verify(body, signed(), now=NOW)


def test_non_contiguous_memoryview_is_a_type_error_not_a_crash() -> None:
    view = memoryview(bytearray(JSON_BODY * 2))[::2]
    with pytest.raises(TypeError, match="contiguous"):
        fresh().verify(view, signed(), now=NOW)


def test_a_bytearray_cannot_be_resized_while_borrowed_and_is_released_after() -> None:
    body = bytearray(JSON_BODY)
    assert fresh().verify(body, signed(), now=NOW).ok
    body.extend(b" ")  # the buffer export was released: resizing works again
    assert fresh().verify(body, signed(), now=NOW).code == fw.SIGNATURE_MISMATCH


@pytest.mark.parametrize("size", [16 * 1024 - 1, 16 * 1024, 200_000, 262_144])
def test_large_bodies_through_the_gil_released_path(size: int) -> None:
    body = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    headers = signed(body)
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers[fw.HEADER_SIGNATURE] == expected
    for wrap in (bytes, bytearray, memoryview):
        assert fresh().verify(wrap(body), headers, now=NOW).ok
    assert fresh().verify(body[:-1] + b"!", headers, now=NOW).code == fw.SIGNATURE_MISMATCH


def test_body_over_the_limit_is_payload_too_large() -> None:
    body = b"a" * (fw.DEFAULT_MAX_BODY_BYTES + 1)
    result = fresh().verify(body, signed(body), now=NOW)
    assert (result.code, result.status, result.message) == ("payload_too_large", 413, "Payload exceeds 262144 bytes")


class CaseInsensitiveHeaders:
    """A mapping whose get() is case-insensitive (like Starlette/Werkzeug/Django)."""

    def __init__(self, items: Dict[str, str]) -> None:
        self._items = {k.lower(): v for k, v in items.items()}

    def get(self, key: str, default: Any = None) -> Any:
        return self._items.get(key.lower(), default)

    def items(self) -> List[Any]:
        return list(self._items.items())


def test_headers_from_any_mapping_any_case() -> None:
    headers = signed()
    variants: List[Any] = [
        headers,
        {k.upper(): v for k, v in headers.items()},
        {k.title(): v.encode() for k, v in headers.items()},
        CaseInsensitiveHeaders({k.upper(): v for k, v in headers.items()}),
    ]
    for variant in variants:
        assert fresh().verify(JSON_BODY, variant, now=NOW).ok, variant


def test_explicit_fields_override_headers() -> None:
    headers = signed()
    result = fresh().verify(JSON_BODY, headers, signature="0" * 64, now=NOW)
    assert result.code == fw.SIGNATURE_MISMATCH
    result = fresh().verify(JSON_BODY, {}, delivery_id="dlv_1", timestamp=NOW, signature=headers[fw.HEADER_SIGNATURE], now=NOW)
    assert result.ok


def test_missing_headers_in_contract_order() -> None:
    assert fresh().verify(JSON_BODY, {}, now=NOW).code == fw.MISSING_DELIVERY_ID
    assert fresh().verify(JSON_BODY, None, now=NOW).code == fw.MISSING_DELIVERY_ID
    assert fresh().verify(JSON_BODY, {"x-fluxora-delivery-id": "d"}, now=NOW).code == fw.MISSING_TIMESTAMP
    # The one-call form answers a missing secret (500, so the sender retries); a reusable
    # Verifier refuses to be built without one (a configuration error, at start-up).
    assert fw.verify("", JSON_BODY, headers=signed(), now=NOW).code == fw.MISSING_SECRET
    assert fw.verify(None, JSON_BODY, headers=signed(), now=NOW).status == 500
    assert fw.verify(None, JSON_BODY, headers={}, now=NOW).code == fw.MISSING_SECRET
    for secret in ("", None, b""):
        with pytest.raises(fw.SettingsError) as raised:
            fw.Verifier(secret)
        assert (raised.value.field, raised.value.problem) == ("secret", "missing")


def test_verification_fields() -> None:
    headers = fw.sign(SECRET, JSON_BODY, delivery_id="dlv_9", event="stream.created", timestamp=NOW)
    result = fresh().verify(JSON_BODY, headers, now=NOW)
    assert (result.delivery_id, result.timestamp, result.event) == ("dlv_9", NOW, "stream.created")
    assert result.used_previous_secret is False
    bad = fresh().verify(JSON_BODY, {**headers, fw.HEADER_TIMESTAMP: "1.7e9"}, now=NOW)
    assert (bad.code, bad.status, bad.timestamp, bool(bad)) == ("invalid_timestamp", 400, None, False)
    assert "ok=False" in repr(bad)


def test_default_now_is_the_clock() -> None:
    assert fresh().verify(JSON_BODY, fw.sign(SECRET, JSON_BODY)).ok
    assert fresh().verify(JSON_BODY, signed(timestamp=NOW)).code == fw.TIMESTAMP_OUTSIDE_TOLERANCE


def test_sign_defaults() -> None:
    first, second = fw.sign(SECRET, b"{}"), fw.sign(SECRET, b"{}")
    assert first[fw.HEADER_DELIVERY_ID] != second[fw.HEADER_DELIVERY_ID]
    assert re.fullmatch(r"dlv_[0-9a-f]{32}", first[fw.HEADER_DELIVERY_ID])
    assert fw.HEADER_EVENT not in first
    assert set(first) == {fw.HEADER_DELIVERY_ID, fw.HEADER_TIMESTAMP, fw.HEADER_SIGNATURE}


FAMILIES = [
    ("", fw.WebhookConfigurationError, "missing_secret", 500, {}),
    (SECRET, fw.MissingHeaderError, "missing_signature", 401, {fw.HEADER_SIGNATURE: ""}),
    (SECRET, fw.TimestampError, "invalid_timestamp", 400, {fw.HEADER_TIMESTAMP: "0x10"}),
    (SECRET, fw.TimestampError, "timestamp_outside_tolerance", 401, {fw.HEADER_TIMESTAMP: str(NOW - 301)}),
    (SECRET, fw.SignatureVerificationError, "signature_mismatch", 401, {fw.HEADER_SIGNATURE: "zz"}),
]


@pytest.mark.parametrize("secret,family,code,status,override", FAMILIES)
def test_verify_or_raise_families(secret: str, family: type, code: str, status: int, override: Dict[str, str]) -> None:
    headers = {**signed(), **override}
    with pytest.raises(family) as raised:
        if secret:
            fw.Verifier(secret, replay_store=fw.NoReplayStore()).verify_or_raise(JSON_BODY, headers, now=NOW)
        else:  # only the one-call form answers missing_secret (a Verifier needs a secret)
            fw.verify(secret, JSON_BODY, headers=headers, now=NOW).raise_for_status()
    error = raised.value
    assert isinstance(error, fw.WebhookVerificationError)
    assert (error.code, error.status) == (code, status)
    assert error.message == str(error) == error.verification.message
    assert fw.OUTCOME_STATUSES[code] == status


def test_verify_or_raise_replay_and_overload_and_ok() -> None:
    verifier = fw.Verifier(SECRET, replay_store=fw.MemoryReplayStore(capacity=1))
    assert verifier.verify_or_raise(JSON_BODY, signed(), now=NOW).ok
    with pytest.raises(fw.ReplayDetectedError) as duplicate:
        verifier.verify_or_raise(JSON_BODY, signed(), now=NOW)
    assert (duplicate.value.code, duplicate.value.status) == ("duplicate_delivery", 409)
    with pytest.raises(fw.ReplayDetectedError) as replayed:
        verifier.verify_or_raise(JSON_BODY, signed(delivery_id="dlv_2"), now=NOW)
    assert replayed.value.code == "replayed_signature"
    with pytest.raises(fw.ConsumerOverloadedError) as overloaded:
        verifier.verify_or_raise(JSON_BODY, signed(delivery_id="dlv_3", timestamp=NOW + 1), now=NOW)
    assert (overloaded.value.code, overloaded.value.status) == ("consumer_overloaded", 429)
    in_progress = fw.Verifier(SECRET)
    assert in_progress.reserve(JSON_BODY, signed(delivery_id="dlv_4"), now=NOW).ok
    with pytest.raises(fw.DeliveryInProgressError) as busy:
        in_progress.verify_or_raise(JSON_BODY, signed(delivery_id="dlv_4"), now=NOW)
    assert (busy.value.code, busy.value.status) == ("delivery_in_progress", 429)
    assert busy.value.message == "Delivery is being processed; retry later"
    big = fw.Verifier(SECRET, max_body_bytes=4)
    with pytest.raises(fw.PayloadTooLargeError, match="Payload exceeds 4 bytes"):
        big.verify_or_raise(JSON_BODY, signed(), now=NOW)


def test_rotation_reports_the_previous_secret() -> None:
    verifier = fw.Verifier("new", previous_secret=SECRET, previous_secret_rotated_at=NOW - 10, replay_store=fw.NoReplayStore())
    assert verifier.verify(JSON_BODY, signed(), now=NOW).used_previous_secret is True
    later = verifier.verify(JSON_BODY, signed(timestamp=NOW + 86400), now=NOW + 86400)
    assert later.code == fw.PREVIOUS_SECRET_EXPIRED


def test_constants_match_the_contract() -> None:
    assert fw.OUTCOME_CODES[0] == fw.OK == "ok"
    assert len(fw.OUTCOME_CODES) == 14
    assert fw.OUTCOME_CODES[-1] == fw.DELIVERY_IN_PROGRESS == "delivery_in_progress"
    assert fw.OUTCOME_STATUSES[fw.DELIVERY_IN_PROGRESS] == 429
    assert fw.DEFAULT_RESERVATION_LEASE_SECONDS == 60
    for code in fw.OUTCOME_CODES:
        assert getattr(fw, code.upper()) == code
    assert fw.HEADER_SIGNATURE == "x-fluxora-signature"
    assert (fw.DEFAULT_TOLERANCE_SECONDS, fw.DEFAULT_MAX_BODY_BYTES, fw.DEFAULT_GRACE_WINDOW_SECONDS) == (300, 262144, 86400)
    assert set(fw.__all__) <= set(dir(fw))


def test_secrets_never_appear_in_repr_or_errors() -> None:
    secret = "s3cr3t-value-do-not-print"
    verifier = fw.Verifier(secret, previous_secret="older-" + secret, replay_store=fw.NoReplayStore())
    assert secret not in repr(verifier) and "<redacted>" in repr(verifier)
    result = verifier.verify(JSON_BODY, signed(), now=NOW)
    assert secret not in repr(result) and secret not in result.message
    with pytest.raises(ValueError) as bad_text:
        fw.Verifier("\udc80" + secret)
    assert secret not in str(bad_text.value) and bad_text.value.__cause__ is None
    with pytest.raises(TypeError) as bad_type:
        fw.Verifier(12345)  # type: ignore[arg-type]
    assert "12345" not in str(bad_type.value)


def test_bytes_secret_equals_str_secret() -> None:
    assert fw.Verifier(SECRET.encode(), replay_store=fw.NoReplayStore()).verify(JSON_BODY, signed(), now=NOW).ok


@pytest.mark.parametrize("now", [-1, 2**53, 2**64, 10**30, -(10**40)])
def test_out_of_range_numbers_raise_python_errors(now: int) -> None:
    with pytest.raises(fw.SettingsError) as raised:
        fresh().verify(JSON_BODY, signed(), now=now)
    assert (raised.value.field, raised.value.problem) == ("now", "out_of_range")
    with pytest.raises(fw.SettingsError):
        fw.verify(SECRET, JSON_BODY, headers=signed(), now=now)


def test_hostile_header_values_give_contract_answers() -> None:
    for value in ["\x00", "9" * 40, "٣", " ", "\udc80"]:
        result = fresh().verify(JSON_BODY, {**signed(), fw.HEADER_TIMESTAMP: value}, now=NOW)
        assert (result.code, result.status) == (fw.INVALID_TIMESTAMP, 400), repr(value)
    for value in ["\udc80", "\x00" * 64, "é" * 64]:
        result = fresh().verify(JSON_BODY, {**signed(), fw.HEADER_SIGNATURE: value}, now=NOW)
        assert result.code == fw.SIGNATURE_MISMATCH, repr(value)
    odd_id = fresh().verify(JSON_BODY, {**signed(), fw.HEADER_DELIVERY_ID: "\udc80"}, now=NOW)
    assert odd_id.ok
    with pytest.raises(TypeError, match="timestamp must be"):
        fresh().verify(JSON_BODY, {**signed(), fw.HEADER_TIMESTAMP: 1.5}, now=NOW)  # type: ignore[dict-item]


def test_is_duplicate_delivery_callable() -> None:
    seen: List[str] = []

    def is_duplicate(delivery_id: str) -> bool:
        duplicate = delivery_id in seen
        seen.append(delivery_id)
        return duplicate

    body, headers = JSON_BODY, signed()
    first = fw.verify(SECRET, body, "dlv_1", str(NOW), headers[fw.HEADER_SIGNATURE], now=NOW, is_duplicate_delivery=is_duplicate)
    again = fw.verify(SECRET, body, "dlv_1", str(NOW), headers[fw.HEADER_SIGNATURE], now=NOW, is_duplicate_delivery=is_duplicate)
    assert (first.code, again.code, again.status) == ("ok", "duplicate_delivery", 409)
    unsigned = fw.verify(SECRET, body, "dlv_x", str(NOW), "0" * 64, now=NOW, is_duplicate_delivery=is_duplicate)
    assert unsigned.code == fw.SIGNATURE_MISMATCH and "dlv_x" not in seen, "consulted only after a signature match"
    verifier = fw.Verifier(SECRET, is_duplicate_delivery=lambda _id: True)
    assert verifier.verify(body, headers, now=NOW).code == fw.DUPLICATE_DELIVERY


def test_errors_from_custom_stores_propagate() -> None:
    def broken(_delivery_id: str) -> bool:
        raise RuntimeError("store down")

    with pytest.raises(RuntimeError, match="store down"):
        fw.Verifier(SECRET, is_duplicate_delivery=broken).verify(JSON_BODY, signed(), now=NOW)

    class Wrong:
        def check_and_record(self, *args: Any) -> str:
            return "fresh"

    with pytest.raises(ValueError, match="replay store must answer 'ok'.*not \"fresh\""):
        fw.Verifier(SECRET, replay_store=Wrong()).verify(JSON_BODY, signed(), now=NOW)
    with pytest.raises(TypeError) as not_a_store:
        fw.Verifier(SECRET, replay_store=object())  # type: ignore[arg-type]
    assert isinstance(not_a_store.value, fw.SettingsError)
    assert (not_a_store.value.field, not_a_store.value.problem) == ("replay_store", "wrong_type")
    assert "check_and_record()" in str(not_a_store.value)
    with pytest.raises(ValueError):
        fw.Verifier(SECRET, replay_store=fw.NoReplayStore(), is_duplicate_delivery=lambda _: False)


def test_custom_store_receives_the_core_entry() -> None:
    calls: List[Any] = []

    class Recording:
        def check_and_record(self, delivery_id: str, timestamp: int, signature: bytes, now: int, expires: int) -> str:
            calls.append((delivery_id, timestamp, signature, now, expires))
            return "ok"

    headers = signed()
    assert fw.Verifier(SECRET, replay_store=Recording()).verify(JSON_BODY, headers, now=NOW + 5).ok
    assert calls == [("dlv_1", NOW, bytes.fromhex(headers[fw.HEADER_SIGNATURE]), NOW + 5, NOW + 300)]


def test_decimal_helpers() -> None:
    assert fw.parse_decimal("100.50") == "100.5"
    assert fw.parse_decimal("0.00000001") == "0.00000001"
    assert fw.parse_amount("+007.10") == "+007.1"
    assert fw.to_stroops("0.0000001") == 1
    assert fw.to_stroops("-9223372036854775807.9999999") == -92233720368547758079999999
    for value, code in [(None, fw.DECIMAL_EMPTY_VALUE), (True, fw.DECIMAL_INVALID_TYPE), ("  ", fw.DECIMAL_EMPTY_VALUE), ("1e3", fw.DECIMAL_INVALID_FORMAT)]:
        with pytest.raises(fw.DecimalError) as raised:
            fw.parse_decimal(value)
        assert raised.value.code == code and raised.value.field is None
        assert isinstance(raised.value, ValueError)
    with pytest.raises(fw.DecimalError) as precision:
        fw.to_stroops("1.00000001", "amount")
    assert (precision.value.code, precision.value.field) == (fw.DECIMAL_PRECISION_EXCEEDED, "amount")
    assert str(precision.value).startswith("amount: ")
