"""Every case of the shared conformance/cases.json, plus the published known answers."""

from __future__ import annotations

from typing import Any, Dict, Optional

import pytest

import fluxora_webhooks as fw
from conftest import body_bytes, load_cases

DOCUMENT = load_cases()
DEFAULTS = DOCUMENT["defaults"]


def _verifier(config: Dict[str, Any], replay: Optional[Dict[str, Any]]) -> fw.Verifier:
    replay = {**DEFAULTS["replay"], **(replay or {})}
    return fw.Verifier(
        config["secret"],
        previous_secret=config.get("previous_secret"),
        previous_secret_rotated_at=config.get("previous_secret_rotated_at"),
        grace_window_seconds=config.get("grace_window_seconds", DEFAULTS["grace_window_seconds"]),
        tolerance_seconds=config.get("tolerance_seconds", DEFAULTS["tolerance_seconds"]),
        max_body_bytes=config.get("max_body_bytes", DEFAULTS["max_body_bytes"]),
        replay_store=fw.MemoryReplayStore(
            capacity=replay["capacity"],
            delivery_retention_seconds=replay["delivery_retention_seconds"],
        ),
    )


def _run(verifier: fw.Verifier, delivery: Dict[str, Any]) -> fw.Verification:
    headers = delivery["headers"]
    return verifier.verify(
        body_bytes(delivery["body"]),
        delivery_id=headers["delivery_id"],
        timestamp=headers["timestamp"],
        signature=headers["signature"],
        now=delivery["now"],
    )


def test_the_file_has_cases() -> None:
    assert len(DOCUMENT["signature_cases"]) >= 90
    assert len(DOCUMENT["decimal_cases"]) >= 40
    assert {c["expect"]["code"] for c in DOCUMENT["signature_cases"]} == set(fw.OUTCOME_CODES)


@pytest.mark.parametrize(
    "case", DOCUMENT["signature_cases"], ids=[c["name"] for c in DOCUMENT["signature_cases"]]
)
def test_signature_case(case: Dict[str, Any]) -> None:
    verifier = _verifier(case["config"], case.get("replay"))
    for index, prior in enumerate(case.get("prior", [])):
        assert _run(verifier, prior).code == prior["expect_code"], f"prior #{index}"
    result = _run(verifier, case)
    expect = case["expect"]
    assert (result.code, result.status, result.message) == (
        expect["code"],
        expect["status"],
        expect["message"],
    )
    assert result.ok is (expect["code"] == "ok")
    if "used_previous_secret" in expect:
        assert result.used_previous_secret is expect["used_previous_secret"]


@pytest.mark.parametrize(
    "case",
    [c for c in DOCUMENT["signature_cases"] if "prior" not in c],
    ids=[c["name"] for c in DOCUMENT["signature_cases"] if "prior" not in c],
)
def test_signature_case_through_headers_and_one_call_verify(case: Dict[str, Any]) -> None:
    """The same answers through a headers mapping (mixed case) and the one-call form."""
    config = case["config"]
    expect = case["expect"]
    headers = {
        name.replace("x-fluxora", "X-Fluxora"): value
        for name, value in {
            fw.HEADER_DELIVERY_ID: case["headers"]["delivery_id"],
            fw.HEADER_TIMESTAMP: case["headers"]["timestamp"],
            fw.HEADER_SIGNATURE: case["headers"]["signature"],
        }.items()
        if value is not None
    }
    body = body_bytes(case["body"])
    by_headers = _verifier(config, case.get("replay")).verify(body, headers, now=case["now"])
    assert (by_headers.code, by_headers.status, by_headers.message) == (
        expect["code"],
        expect["status"],
        expect["message"],
    )
    one_call = fw.verify(
        secret=config["secret"],
        body=memoryview(bytearray(body)),
        delivery_id=case["headers"]["delivery_id"],
        timestamp=case["headers"]["timestamp"],
        signature=case["headers"]["signature"],
        now=case["now"],
        tolerance_seconds=config.get("tolerance_seconds", DEFAULTS["tolerance_seconds"]),
        max_body_bytes=config.get("max_body_bytes", DEFAULTS["max_body_bytes"]),
        previous_secret=config.get("previous_secret"),
        previous_secret_rotated_at=config.get("previous_secret_rotated_at"),
        grace_window_seconds=config.get("grace_window_seconds", DEFAULTS["grace_window_seconds"]),
    )
    assert (one_call.code, one_call.status, one_call.message) == (
        expect["code"],
        expect["status"],
        expect["message"],
    )


@pytest.mark.parametrize("answer", DOCUMENT["known_answers"])
def test_known_answer(answer: Dict[str, Any]) -> None:
    body = body_bytes(answer["body"])
    assert fw.compute_signature(answer["secret"], answer["timestamp"], body) == answer["signature"]
    assert fw.compute_signature(answer["secret"].encode(), int(answer["timestamp"]), bytearray(body)) == answer["signature"]


def test_design_known_answers_literally() -> None:
    assert (
        fw.compute_signature("topsecret", "1710000000", b'{"event":"stream.updated"}')
        == "925006549b879c8d9e91c10a153254fb4b6e2241820a1b072e28aa2fa8caeb79"
    )
    assert (
        fw.compute_signature("topsecret", "1710000000", b"")
        == "a58f63482c493d44f954ec6c03e39ba650afb13861ab782835c1e08aa7d56366"
    )
    assert (
        fw.compute_signature("topsecret", "1710000000", bytes(range(256)))
        == "fd458b8ae7da6909e485a31de5d23ff63001d3e627104fc93efc12dda15fc348"
    )


def _decimal_answer(value: Any, amount: bool) -> Dict[str, Any]:
    try:
        if amount:
            return {
                "valid": True,
                "normalized": fw.parse_amount(value, "amount"),
                "stroops": str(fw.to_stroops(value, "amount")),
            }
        return {"valid": True, "normalized": fw.parse_decimal(value, "amount")}
    except fw.DecimalError as error:
        assert error.field == "amount"
        assert error.code in fw.DECIMAL_CODES
        return {"valid": False, "code": error.code}


@pytest.mark.parametrize(
    "case", DOCUMENT["decimal_cases"], ids=[c["name"] for c in DOCUMENT["decimal_cases"]]
)
def test_decimal_case(case: Dict[str, Any]) -> None:
    answer = _decimal_answer(case["input"], case["amount"])
    expect = case["expect"]
    assert answer["valid"] is expect["valid"]
    if expect["valid"]:
        assert answer["normalized"] == expect["normalized"]
        if "stroops" in expect:
            assert answer["stroops"] == expect["stroops"]
    else:
        assert answer["code"] == expect["code"]
