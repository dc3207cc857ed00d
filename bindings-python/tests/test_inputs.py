"""Python values as the facade's inputs: header forms, request objects, settings, signing."""

from __future__ import annotations

import math
import re
from typing import Any, Dict, List

import pytest

import fluxora_webhooks as fw
from conftest import JSON_BODY, NOW, SECRET


def signed(delivery_id: str = "dlv_1", timestamp: int = NOW) -> Dict[str, str]:
    return fw.sign(SECRET, JSON_BODY, delivery_id=delivery_id, timestamp=timestamp, event="stream.updated")


def fresh() -> fw.Verifier:
    return fw.Verifier(SECRET, replay_store=fw.NoReplayStore())


# ---------------------------------------------------------------- request objects


def _starlette_request(headers: Dict[str, str]) -> Any:
    from starlette.requests import Request

    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
    return Request({"type": "http", "method": "POST", "path": "/hook", "headers": raw, "query_string": b""})


def _werkzeug_request(headers: Dict[str, str]) -> Any:
    from werkzeug.test import EnvironBuilder

    return EnvironBuilder(method="POST", path="/hook", headers=headers, data=JSON_BODY).get_request()


def _django_request(headers: Dict[str, str]) -> Any:
    from django.conf import settings

    if not settings.configured:
        settings.configure(ALLOWED_HOSTS=["testserver"], SECRET_KEY="django-test-only")
    from django.http import HttpRequest

    request = HttpRequest()
    request.META.update({"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()})
    return request


@pytest.mark.parametrize("make", [_starlette_request, _werkzeug_request, _django_request], ids=["starlette", "werkzeug", "django"])
def test_a_request_object_is_a_type_error_naming_request_headers(make: Any) -> None:
    request = make(signed())
    for call in (
        lambda: fresh().verify(JSON_BODY, request),
        lambda: fresh().verify_or_raise(JSON_BODY, request),
        lambda: fw.verify(SECRET, JSON_BODY, headers=request, now=NOW),
    ):
        with pytest.raises(TypeError, match=r"^pass request\.headers ") as raised:
            call()
        assert "not the request object" in str(raised.value)
    # Its headers are what to pass, and they verify.
    assert fresh().verify(JSON_BODY, request.headers, now=NOW).ok


def test_the_flask_request_proxy_is_a_type_error_naming_request_headers() -> None:
    from flask import Flask, request

    app = Flask(__name__)
    with app.test_request_context("/hook", method="POST", data=JSON_BODY, headers=signed()):
        with pytest.raises(TypeError, match=r"request\.headers"):
            fresh().verify(JSON_BODY, request)  # type: ignore[arg-type]
        assert fresh().verify(JSON_BODY, request.headers, now=NOW).ok


@pytest.mark.parametrize("headers", [42, "x-fluxora-signature", b"raw", [("only-a-name",)], ["ab"], object()])
def test_what_holds_no_header_fields_is_a_type_error(headers: Any) -> None:
    with pytest.raises(TypeError, match=r"request\.headers"):
        fresh().verify(JSON_BODY, headers, now=NOW)


# ---------------------------------------------------------------- header forms


def test_header_forms_beyond_the_conformance_cases() -> None:
    from httpx import Headers as HttpxHeaders

    headers = signed()
    pairs = list(headers.items())
    forms: List[Any] = [
        {name.encode(): value.encode() for name, value in pairs},  # bytes names and values
        iter(pairs),  # any iterable of pairs
        HttpxHeaders(pairs),  # `.raw`
        {**{name: [value] for name, value in pairs}},  # one-element lists
        {**headers, "x-other": None, fw.HEADER_EVENT: [None, "stream.updated", None]},  # None skipped
        {**headers, 7: "a name that is not text", "content-length": 1.5},  # other fields ignored
    ]
    for form in forms:
        result = fresh().verify(JSON_BODY, form, now=NOW)
        assert result.ok, form
        assert result.event == "stream.updated", form


def test_repeated_fields_are_combined_by_the_facade() -> None:
    headers = signed()
    signature = headers[fw.HEADER_SIGNATURE]
    repeated = {**headers, fw.HEADER_SIGNATURE: [signature, signature]}
    result = fresh().verify(JSON_BODY, repeated, now=NOW)
    assert result.code == fw.SIGNATURE_MISMATCH
    both_events = [*headers.items(), ("X-Fluxora-Event", "other")]
    assert fresh().verify(JSON_BODY, both_events, now=NOW).event == "stream.updated, other"
    ids = {**headers, fw.HEADER_DELIVERY_ID: ("a", b"b", 3)}
    assert fresh().verify(JSON_BODY, ids, now=NOW).delivery_id == "a, b, 3"


def test_an_int_timestamp_header_is_its_decimal_digits() -> None:
    headers: Dict[str, Any] = {**signed(), fw.HEADER_TIMESTAMP: NOW}
    assert fresh().verify(JSON_BODY, headers, now=NOW).ok
    negative = fresh().verify(JSON_BODY, {**headers, fw.HEADER_TIMESTAMP: -NOW}, now=NOW)
    assert negative.code == fw.INVALID_TIMESTAMP
    huge = fresh().verify(JSON_BODY, {**headers, fw.HEADER_TIMESTAMP: 10**40}, now=NOW)
    assert huge.code == fw.INVALID_TIMESTAMP
    with pytest.raises(TypeError, match="x-fluxora-timestamp must be str, bytes or int"):
        fresh().verify(JSON_BODY, {**headers, fw.HEADER_TIMESTAMP: True}, now=NOW)
    with pytest.raises(TypeError, match="x-fluxora-signature must be"):
        fresh().verify(JSON_BODY, headers, signature=["a"], now=NOW)  # type: ignore[arg-type]


def test_explicit_fields_replace_repeated_header_fields() -> None:
    headers = signed()
    repeated = [*headers.items(), (fw.HEADER_SIGNATURE, "0" * 64)]
    assert fresh().verify(JSON_BODY, repeated, now=NOW).code == fw.SIGNATURE_MISMATCH
    assert fresh().verify(JSON_BODY, repeated, signature=headers[fw.HEADER_SIGNATURE], now=NOW).ok
    assert fresh().verify(JSON_BODY, repeated, signature=None, now=NOW).code == fw.SIGNATURE_MISMATCH


# ---------------------------------------------------------------- settings


def _settings_error(build: Any) -> fw.SettingsError:
    with pytest.raises(fw.SettingsError) as raised:
        build()
    return raised.value


@pytest.mark.parametrize("option", ["tolerance_seconds", "max_body_bytes", "grace_window_seconds", "previous_secret_rotated_at"])
@pytest.mark.parametrize(
    "value,problem",
    [
        (math.nan, "not_whole"),
        (math.inf, "not_whole"),
        (-math.inf, "not_whole"),
        (0.5, "not_whole"),
        (2**53, "out_of_range"),
        (10**40, "out_of_range"),
        (-(10**40), "out_of_range"),
        (-1, "out_of_range"),
        (1e300, "out_of_range"),
        (True, "wrong_type"),
        (False, "wrong_type"),
        ("300", "wrong_type"),
        (b"300", "wrong_type"),
        ([300], "wrong_type"),
    ],
)
def test_unusable_numbers_are_settings_errors(option: str, value: Any, problem: str) -> None:
    for build in (
        lambda: fw.Verifier(SECRET, **{option: value}),
        lambda: fw.verify(SECRET, JSON_BODY, headers=signed(), now=NOW, **{option: value}),
    ):
        error = _settings_error(build)
        assert (error.field, error.problem) == (option, problem)
        assert isinstance(error, ValueError)
        assert isinstance(error, TypeError) is (problem == "wrong_type")
        assert error.message == str(error) and str(error).startswith(f"{option} must be ")


def test_numbers_in_range_and_their_defaults() -> None:
    verifier = fw.Verifier(SECRET, tolerance_seconds=60.0, max_body_bytes=2**53 - 1, grace_window_seconds=0)
    assert (verifier.tolerance_seconds, verifier.max_body_bytes, verifier.grace_window_seconds) == (60, 2**53 - 1, 0)
    defaults = fw.Verifier(SECRET, tolerance_seconds=None, max_body_bytes=None, grace_window_seconds=None)
    assert (defaults.tolerance_seconds, defaults.max_body_bytes, defaults.grace_window_seconds) == (
        fw.DEFAULT_TOLERANCE_SECONDS,
        fw.DEFAULT_MAX_BODY_BYTES,
        fw.DEFAULT_GRACE_WINDOW_SECONDS,
    )


@pytest.mark.parametrize(
    "now,problem",
    [(math.nan, "not_whole"), (math.inf, "not_whole"), (-1.0, "out_of_range"), (True, "wrong_type"), ("1710000000", "wrong_type")],
)
def test_unusable_now_is_a_settings_error(now: Any, problem: str) -> None:
    error = _settings_error(lambda: fresh().verify(JSON_BODY, signed(), now=now))
    assert (error.field, error.problem) == ("now", problem)


def test_a_fractional_now_is_floored() -> None:
    assert fresh().verify(JSON_BODY, signed(), now=NOW + 300.9).ok
    assert fresh().verify(JSON_BODY, signed(), now=NOW + 301.0).code == fw.TIMESTAMP_OUTSIDE_TOLERANCE


@pytest.mark.parametrize(
    "secret,problem,is_type_error",
    [(12345, "wrong_type", True), (1.5, "wrong_type", True), (True, "wrong_type", True), ("\udc80x", "invalid_text", False)],
)
def test_unusable_secrets_never_show_the_value(secret: Any, problem: str, is_type_error: bool) -> None:
    for field, build in (
        ("secret", lambda: fw.Verifier(secret)),
        ("previous_secret", lambda: fw.Verifier(SECRET, previous_secret=secret)),
        ("secret", lambda: fw.compute_signature(secret, NOW, JSON_BODY)),
        ("secret", lambda: fw.signed_headers(secret, JSON_BODY)),
    ):
        error = _settings_error(build)
        assert (error.field, error.problem) == (field, problem)
        assert isinstance(error, TypeError) is is_type_error
        assert str(secret) not in str(error) and "\udc80" not in str(error)
        assert error.__cause__ is None


def test_replay_store_settings() -> None:
    assert fw.MemoryReplayStore(capacity=None).capacity == fw.DEFAULT_REPLAY_CAPACITY
    assert fw.MemoryReplayStore(delivery_retention_seconds=1.0).delivery_retention_seconds == 1
    for options, field, problem in [
        ({"capacity": 0}, "capacity", "out_of_range"),
        ({"capacity": 10**40}, "capacity", "out_of_range"),
        ({"capacity": math.nan}, "capacity", "not_whole"),
        ({"capacity": True}, "capacity", "wrong_type"),
        ({"delivery_retention_seconds": 0}, "delivery_retention_seconds", "out_of_range"),
        ({"delivery_retention_seconds": "60"}, "delivery_retention_seconds", "wrong_type"),
    ]:
        error = _settings_error(lambda: fw.MemoryReplayStore(**options))
        assert (error.field, error.problem) == (field, problem), options
    # The Redis store's retention goes through the same rule (checked before the client is used).
    error = _settings_error(lambda: fw.RedisReplayStore(object(), delivery_retention_seconds=-5))
    assert (error.field, error.problem) == ("delivery_retention_seconds", "out_of_range")
    with pytest.raises(TypeError, match="must be callable"):
        fw.Verifier(SECRET, is_duplicate_delivery=42)  # type: ignore[arg-type]


# ---------------------------------------------------------------- signing and decimals


def test_signed_headers_is_the_facade_set() -> None:
    headers = fw.signed_headers(SECRET, JSON_BODY, timestamp=NOW, delivery_id="dlv_9", event="stream.created")
    assert headers == {
        fw.HEADER_DELIVERY_ID: "dlv_9",
        fw.HEADER_TIMESTAMP: str(NOW),
        fw.HEADER_SIGNATURE: fw.compute_signature(SECRET, NOW, JSON_BODY),
        fw.HEADER_EVENT: "stream.created",
    }
    assert list(headers) == [fw.HEADER_DELIVERY_ID, fw.HEADER_TIMESTAMP, fw.HEADER_SIGNATURE, fw.HEADER_EVENT]
    assert fw.sign(SECRET, JSON_BODY, timestamp=NOW, delivery_id="dlv_9", event="stream.created") == headers
    ids = {fw.signed_headers(SECRET, b"")[fw.HEADER_DELIVERY_ID] for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"dlv_[0-9a-f]{32}", delivery_id) for delivery_id in ids)
    padded = fw.signed_headers(SECRET.encode(), bytearray(JSON_BODY), timestamp=" 1710000000 ")
    assert padded[fw.HEADER_TIMESTAMP] == " 1710000000 "
    assert fw.HEADER_EVENT not in padded
    assert fresh().verify(JSON_BODY, padded, now=NOW).ok


@pytest.mark.parametrize(
    "timestamp,problem", [(1.5, "not_whole"), (-1, "out_of_range"), (True, "wrong_type"), (b"1710000000", "wrong_type")]
)
def test_unusable_signing_timestamps_are_settings_errors(timestamp: Any, problem: str) -> None:
    error = _settings_error(lambda: fw.signed_headers(SECRET, JSON_BODY, timestamp=timestamp))
    assert (error.field, error.problem) == ("timestamp", problem)


def test_decimal_inputs_are_classified_by_the_facade() -> None:
    for value, code in [
        (None, fw.DECIMAL_EMPTY_VALUE),
        (1.5, fw.DECIMAL_INVALID_TYPE),
        (15, fw.DECIMAL_INVALID_TYPE),
        (b"1.5", fw.DECIMAL_INVALID_TYPE),
        ("1.5\udc80", fw.DECIMAL_INVALID_FORMAT),
        ("", fw.DECIMAL_EMPTY_VALUE),
    ]:
        for parse in (fw.parse_decimal, fw.parse_amount, fw.to_stroops):
            with pytest.raises(fw.DecimalError) as raised:
                parse(value, "amount")
            assert (raised.value.code, raised.value.field) == (code, "amount"), (parse, value)
